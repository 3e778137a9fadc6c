"""User-facing errors: one clear sentence naming the file, the problem and the fix."""


class ToukToukError(Exception):
    """A problem the user can fix; the CLI prints the message alone, without a traceback."""


class ConfigError(ToukToukError):
    """A config or episode file is missing, unreadable or invalid."""


class MediaError(ToukToukError):
    """Footage that cannot be used: not media, no audio, unreadable."""
