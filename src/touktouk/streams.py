"""ffprobe stream fields read one way everywhere: the rotation a player applies."""

from __future__ import annotations

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
