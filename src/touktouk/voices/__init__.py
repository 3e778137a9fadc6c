"""Who speaks when in one mixed recording: speaker embeddings (`embed`) and their clustering (`cluster`)."""
