"""The `publish-episode` run form's field types: every optional field has a concrete default of
its own type, so the Prefect UI shows a plain field (no "str / None" switch). Python callers may
still pass None for "not given"; it becomes the field's empty value before validation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

ClipPlatform = Literal["youtube_shorts", "tiktok", "instagram_reels", "linkedin", "x"]
CaptionStyleName = Literal["karaoke", "plain"]
TranslateTo = Literal["none", "en"]
SERIES_AUTO_CLIPS = -1  # the auto_clips value that keeps the series config's number


def _or(empty: Any) -> BeforeValidator:
    return BeforeValidator(lambda value: empty if value is None else value)


Text = Annotated[str, _or("")]
Platforms = Annotated[list[ClipPlatform], _or([])]
AutoClips = Annotated[int, _or(SERIES_AUTO_CLIPS), Field(ge=SERIES_AUTO_CLIPS, le=20)]
Translate = Annotated[TranslateTo, _or("none")]
DecisionsField = Annotated[dict[str, Any], _or({})]


def or_none(value: Any) -> Any:
    """None for a field left at its empty value ("", [], {}, -1, "none"), else the value."""
    if value in ("", "none", SERIES_AUTO_CLIPS) or value == [] or value == {}:
        return None
    return value
