"""Captions rendered by real ffmpeg + libass: emoji, the 1:1 style, keyword emphasis (issue 4)."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from touktouk.captions.files import write_captions
from touktouk.captions.karaoke import emoji_warnings
from touktouk.captions.layout import layout_for_style
from touktouk.captions.lines import CaptionEvent
from touktouk.captions.styles import square_style, vertical_style
from touktouk.render.ffmpeg import subtitles_filter
from touktouk.types import Word

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not on PATH"),
]

FONTS_DIR = "/usr/share/fonts/truetype/dejavu"
FONT = "DejaVu Sans"


def _frame(ass: Path, size: str, at: float = 0.5) -> bytes:
    """RGB24 pixels of the frame at `at` of a black picture with `ass` burned in."""
    w, h = (int(x) for x in size.split("x"))
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", f"color=c=black:s={size}:d=2:r=25",
         "-vf", subtitles_filter(ass, FONTS_DIR), "-ss", f"{at:.2f}", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True,
        capture_output=True,
    ).stdout  # fmt: skip
    assert len(raw) == w * h * 3
    return raw


def _event(text: str) -> CaptionEvent:
    words = tuple(Word(0.1 + 0.3 * i, 0.35 + 0.3 * i, t) for i, t in enumerate(text.split()))
    return CaptionEvent(0.0, 1.5, (text,), words)


def test_emoji_are_left_out_of_burned_captions_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    style = vertical_style(font_name=FONT, primary="#FFFFFF", highlight="#FFFFFF", fonts_dir=FONTS_DIR)
    with_emoji, without = _event("Bravo 🎉 merci 👏🏽 à vous"), _event("Bravo merci à vous")
    with caplog.at_level(logging.WARNING, logger="touktouk.captions"):
        paths = write_captions([with_emoji], style, tmp_path / "emoji", "clip", karaoke=False)
    plain = write_captions([without], style, tmp_path / "plain", "clip", karaoke=False)
    # The sidecars keep the emoji; the burned-in ASS does not, and says so.
    assert "🎉" in paths["srt"].read_text(encoding="utf-8") and "👏🏽" in paths["vtt"].read_text(encoding="utf-8")
    assert "🎉" not in paths["ass"].read_text(encoding="utf-8")
    warnings = emoji_warnings([with_emoji], style)
    assert len(warnings) == 1 and "🎉" in warnings[0] and "👏🏽" in warnings[0]
    assert any("🎉" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert emoji_warnings([without], style) == []
    # Rendered: identical to the same caption written without the emoji (no empty box, no gap)…
    assert _frame(paths["ass"], "1080x1920") == _frame(plain["ass"], "1080x1920")
    # …whereas the emoji handed to libass as they are draw a box (DejaVu's .notdef glyph).
    raw = tmp_path / "raw.ass"
    raw.write_text(plain["ass"].read_text(encoding="utf-8").replace("Bravo merci", "Bravo 🎉 merci"), encoding="utf-8")
    assert _frame(raw, "1080x1920") != _frame(plain["ass"], "1080x1920")


def test_square_captions_render_inside_the_square_safe_area(tmp_path: Path) -> None:
    style = square_style(font_name=FONT, primary="#FFFFFF", highlight="#FFD400", fonts_dir=FONTS_DIR)
    text = "Je crois que l'économie sociale et solidaire, c'est d'abord une affaire de gens."
    words = [Word(0.1 + 0.25 * i, 0.3 + 0.25 * i, t) for i, t in enumerate(text.split())]
    events = layout_for_style(words, style)
    assert all(style.line_fits(line) for ev in events for line in ev.lines)
    paths = write_captions(events[:1], style, tmp_path, "square", karaoke=False)
    red = np.frombuffer(_frame(paths["ass"], "1080x1080", at=events[0].start + 0.2), dtype=np.uint8)[0::3]
    ys, xs = np.nonzero(red.reshape(1080, 1080) > 128)
    assert len(xs) > 500
    assert xs.min() >= style.margin_h - 8 and xs.max() <= 1080 - style.margin_h + 8
    assert ys.max() <= 1080 - style.margin_v + 8


def test_keywords_are_drawn_in_the_emphasis_colour_next_to_the_karaoke_highlight(tmp_path: Path) -> None:
    # Magenta highlight (the word being said), cyan emphasis (episode keywords), white text.
    style = vertical_style(
        font_name=FONT, primary="#FFFFFF", highlight="#FF00FF", fonts_dir=FONTS_DIR, emphasis="#00FFFF"
    )
    words = [Word(0.1, 0.4, "Merci"), Word(0.5, 0.9, "Camille"), Word(1.0, 1.4, "Martin.")]
    events = layout_for_style(words, style)
    paths = write_captions(events, style, tmp_path, "kw", karaoke=True, keywords=["Camille Martin"])

    def colours(at: float) -> tuple[int, int]:
        rgb = np.frombuffer(_frame(paths["ass"], "1080x1920", at=at), dtype=np.uint8).reshape(-1, 3).astype(int)
        r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
        magenta = int(((r > 170) & (b > 170) & (g < 110)).sum())
        cyan = int(((g > 170) & (b > 170) & (r < 110)).sum())
        return magenta, cyan

    m0, c0 = colours(0.25)  # "Merci" said: magenta; both keyword words cyan
    m1, c1 = colours(0.7)  # "Camille" said: it turns magenta; "Martin." stays cyan
    assert m0 > 200 and c0 > 400
    assert m1 > 200 and 1000 < c1 < c0 - 1000


def test_captions_still_renders_a_frame_with_the_spoken_word_highlighted(tmp_path: Path) -> None:
    # The README pictures' command, on a made-up picture with a hand-timed transcript (no Whisper).
    from typer.testing import CliRunner

    from touktouk.cli import app
    from touktouk.types import Segment, Transcript

    video = tmp_path / "plan.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "color=c=0x202020:s=640x360:r=25:d=4",
         "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast",
         "-c:a", "aac", "-shortest", str(video)],
        check=True,
    )  # fmt: skip
    words = [Word(0.5, 1.0, "Bonjour"), Word(1.1, 1.6, "et"), Word(1.7, 2.4, "bienvenue.")]
    transcript = tmp_path / "transcript.json"
    doc = Transcript("fr", 4.0, (Segment(0.5, 2.4, "Bonjour et bienvenue.", tuple(words)),)).to_dict()
    transcript.write_text(json.dumps(doc), encoding="utf-8")
    config = tmp_path / "touktouk.toml"
    config.write_text(f'[brand]\nfonts_dir = "{FONTS_DIR}"\nhighlight_colour = "#FF00FF"\n', encoding="utf-8")
    for style, size in (("vertical", (1080, 1920)), ("classic", (1920, 1080))):
        out = tmp_path / f"{style}.png"
        args = ["captions", "still", str(video), "--at", "1.3", "--style", style, "--out", str(out)]
        result = CliRunner().invoke(app, [*args, "--transcript", str(transcript), "--config", str(config)])
        assert result.exit_code == 0, result.output
        with Image.open(out) as image:
            assert image.size == size
            rgb = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
        r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
        magenta = int(((r > 170) & (b > 170) & (g < 110)).sum())  # "et", said at 1.3 s
        white = int((rgb.min(axis=1) > 200).sum())
        assert magenta > 10 and white > 4 * magenta, (style, magenta, white)
    bad = CliRunner().invoke(app, ["captions", "still", str(video), "--at", "9", "--out", str(tmp_path / "x.png"),
                                   "--transcript", str(transcript), "--config", str(config)])  # fmt: skip
    assert bad.exit_code == 2 and "past the end" in bad.output
