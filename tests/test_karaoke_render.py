"""The highlighted word in a rendered 9:16 frame is the one being spoken (issue 4, item 6).

Real ffmpeg + libass through render_clip, hand-timed words (no Whisper), the expected
position of each word computed with the same font measurement as the layout engine and checker.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from media_fixtures import ffmpeg
from touktouk.captions.files import write_captions
from touktouk.captions.fonts import FONT_DIR, text_width
from touktouk.captions.layout import layout_for_style
from touktouk.captions.styles import CaptionStyle, vertical_style
from touktouk.render.clip import render_clip
from touktouk.render.encode import EncodeSettings, OutputSpec
from touktouk.render.probe import probe
from touktouk.render.stills import grab_frame
from touktouk.types import Word

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not on PATH")

HIGHLIGHT = (255, 0, 255)  # magenta: neither the white text, the black outline nor the background
WORDS = [
    Word(0.30, 0.80, "Un"),
    Word(0.95, 1.55, "grand"),
    Word(1.70, 2.30, "merci"),
    Word(2.45, 3.20, "Hervé."),
]
# Anti-aliasing and shaping (libass kerns with HarfBuzz, the measurement does not) leave a few pixels.
TOLERANCE = 8


def _is_highlight(r: int, g: int, b: int) -> bool:
    return r > 170 and b > 170 and g < 110


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CaptionStyle, tuple[str, ...]]:
    tmp = tmp_path_factory.mktemp("karaoke")
    silence = tmp / "silence.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "4", str(silence))
    style = vertical_style(
        font_name="DejaVu Sans", primary="#FFFFFF", highlight="#{:02X}{:02X}{:02X}".format(*HIGHLIGHT)
    )
    events = layout_for_style(WORDS, style)
    assert len(events) == 1 and len(events[0].lines) == 1, events
    paths = write_captions(events, style, tmp, "karaoke", karaoke=True)
    out = tmp / "clip.mp4"
    render_clip(
        probe(silence),
        0.0,
        3.6,
        [OutputSpec(out, 1080, 1920)],
        subtitles=paths["ass"],
        fonts_dir=str(FONT_DIR),
        encode=EncodeSettings(preset="ultrafast", crf=18),
    )
    return out, style, events[0].lines


def _word_spans(style: CaptionStyle, line: str) -> list[tuple[float, float]]:
    """Expected x extent of each word of a centred line, from the engine's font measurement."""

    def width(text: str) -> float:
        return text_width(text, style.font_size, bold=style.bold)

    left = style.margin_h + (style.safe_width - width(line)) / 2
    spans, pos = [], 0
    for word in line.split(" "):
        spans.append((left + width(line[:pos]), left + width(line[: pos + len(word)])))
        pos += len(word) + 1
    return spans


@pytest.mark.parametrize("k", range(len(WORDS)))
def test_the_highlighted_word_is_the_one_being_spoken(rendered, k: int) -> None:
    out, style, (line,) = rendered
    spans = _word_spans(style, line)
    assert len(spans) == len(WORDS)
    at = (WORDS[k].start + WORDS[k].end) / 2
    w, h, raw = grab_frame(out, at)
    assert (w, h) == (1080, 1920)
    lit = [
        (i % w, i // w) for i in range(0, len(raw) // 3) if _is_highlight(raw[3 * i], raw[3 * i + 1], raw[3 * i + 2])
    ]
    assert len(lit) > 200, f"no highlighted word at {at:.2f} s"
    xs = [x for x, _ in lit]
    a, b = spans[k]
    assert a - TOLERANCE <= min(xs) and max(xs) <= b + TOLERANCE, (k, (min(xs), max(xs)), spans)
    # The whole word is lit, not a part of it, and no other word is.
    assert min(xs) <= a + TOLERANCE and max(xs) >= b - TOLERANCE, (k, (min(xs), max(xs)), spans)
    for j, (c, d) in enumerate(spans):
        if j != k:
            assert not any(c + TOLERANCE < x < d - TOLERANCE for x in xs), (k, j)
    # Inside the safe area: above the platform UI in the bottom fifth.
    assert max(y for _, y in lit) < h * 0.8
