"""ffprobe stream fields read one way everywhere: the rotation a player applies, the shape of
the pixels (sample aspect ratio) and the width in square pixels."""

from __future__ import annotations

from fractions import Fraction
from typing import Any


def stream_rotation(stream: dict[str, Any]) -> int:
    """The rotation (0, 90, 180, 270) a player applies to a video stream: its rotate tag, else
    its display matrix."""
    tags = stream.get("tags", {})
    if "rotate" in tags:
        return int(tags["rotate"]) % 360
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return int(-float(side["rotation"])) % 360
    return 0


def parse_sar(value: str | None) -> Fraction:
    """ffprobe's sample_aspect_ratio ("4:3", "1:1") as a fraction; 1 when absent or unknown ("0:1", "N/A")."""
    try:
        num, den = (int(v) for v in str(value or "").split(":"))
    except ValueError:
        return Fraction(1)
    return Fraction(num, den) if num > 0 and den > 0 else Fraction(1)


def display_width(width: int, sar: Fraction) -> int:
    """`width` stored pixels of aspect `sar` in square pixels, rounded to even (4:2:0 chroma)."""
    if sar == 1 or width <= 0:
        return width
    return max(2, round(width * sar / 2) * 2)
