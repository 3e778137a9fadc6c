"""ToukTouk: publish a French interview web series from raw footage."""

__version__ = "0.1.0"
