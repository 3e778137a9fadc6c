"""Transcription: Whisper backends behind one protocol, VAD windows, guards, offline models, the cache."""
