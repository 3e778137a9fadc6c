"""Clips: selection (producer picks and scored highlights), quotes, chapters, platform texts. Pure."""
