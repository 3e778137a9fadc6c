"""Caption styles as data: one frame shape per row (classic 16:9, vertical 9:16, square 1:1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, Unpack

from touktouk.captions.fonts import find_font, text_width
from touktouk.config import BrandSettings, CaptionSettings


@dataclass(frozen=True)
class CaptionStyle:
    name: str
    play_res_x: int
    play_res_y: int
    font_name: str
    font_size: int
    bold: bool
    primary_colour: str  # "#RRGGBB"
    highlight_colour: str
    outline_colour: str
    outline: float
    shadow: float
    margin_v: int
    margin_h: int
    alignment: int  # ASS numpad: 2 = bottom centre
    max_chars_per_line: int
    max_lines: int
    fonts_dir: str = ""  # where font_name's files are (config brand.fonts_dir); empty = system fonts
    max_cps: float = 17.0  # reading speed the layout aims for and the checker applies
    emphasis_colour: str = ""  # episode keywords in this colour ("" = no keyword emphasis)
    condense: bool = True  # leave out « euh », « ben »… from captions still too fast to read
    # the active word in its speaker's colour: (speaker, "#RRGGBB") pairs; others in highlight_colour
    speaker_colours: tuple[tuple[str, str], ...] = ()

    @property
    def measured(self) -> bool:
        """Line length is the rendered width, not a character count (9:16 and 1:1 frames)."""
        return self.play_res_y >= self.play_res_x

    @property
    def safe_width(self) -> int:
        """Width available to a line of text inside the horizontal margins (the safe area)."""
        return self.play_res_x - 2 * self.margin_h

    def font_file(self) -> Path:
        """The font file libass draws this style with (brand.font in brand.fonts_dir)."""
        return find_font(self.font_name, self.fonts_dir, bold=self.bold)

    def line_width(self, text: str) -> float:
        """Rendered width of one line in this style, outline on both sides included."""
        return text_width(text, self.font_size, bold=self.bold, font_file=str(self.font_file())) + 2 * self.outline

    def line_fits(self, text: str) -> bool:
        return self.line_width(text) <= self.safe_width


@dataclass(frozen=True)
class _Shape:
    """One frame shape's caption numbers; sizes are fractions of the frame."""

    name: str
    width: int  # default frame
    height: int
    font_size: float  # of the width
    outline: float  # the width divided by this, to 0.1 px
    margin_v: float  # of the height
    margin_h: float  # of the width
    bold: bool
    max_chars_per_line: int
    max_lines: int = 2


# 16:9 (Netflix): 54 px regular, 3 px outline, 60 px from the bottom, 192 px sides at 1920x1080.
_CLASSIC = _Shape("Classic", 1920, 1080, 54 / 1920, 640, 1 / 18, 0.10, bold=False, max_chars_per_line=42)
# 9:16: 56 px at 1080 (22 bold DejaVu chars fit 756 px), 4 px outline. The TikTok/Reels/Shorts UI
# covers the bottom fifth and the right edge; symmetric side margins keep the text centred.
_VERTICAL = _Shape("Vertical", 1080, 1920, 0.052, 270, 0.22, 0.15, bold=True, max_chars_per_line=22)
# 1:1: 52 px at 1080, 4 px outline; 10 % sides and 12 % from the bottom (see square_style).
_SQUARE = _Shape("Square", 1080, 1080, 0.048, 270, 0.12, 0.10, bold=True, max_chars_per_line=26)


class StyleSettings(TypedDict, total=False):
    """The series' settings a caption style takes besides its frame (font, colours, reading speed)."""

    fonts_dir: str
    max_cps: float
    emphasis: str
    condense: bool
    speaker_colours: tuple[tuple[str, str], ...]


def _shape_style(
    shape: _Shape, width: int, height: int, font_name: str, primary: str, highlight: str, settings: StyleSettings
) -> CaptionStyle:
    """The caption style of `shape` for a width x height frame and the series' settings."""
    return CaptionStyle(
        name=shape.name,
        play_res_x=width,
        play_res_y=height,
        font_name=font_name,
        font_size=round(width * shape.font_size),
        bold=shape.bold,
        primary_colour=primary,
        highlight_colour=highlight,
        outline_colour="#000000",
        outline=round(width / shape.outline, 1),
        shadow=1.0,
        margin_v=round(height * shape.margin_v),
        margin_h=round(width * shape.margin_h),
        alignment=2,
        max_chars_per_line=shape.max_chars_per_line,
        max_lines=shape.max_lines,
        fonts_dir=settings.get("fonts_dir", ""),
        max_cps=settings.get("max_cps", 17.0),
        emphasis_colour=settings.get("emphasis", ""),
        condense=settings.get("condense", True),
        speaker_colours=settings.get("speaker_colours", ()),
    )


def vertical_style(
    *,
    font_name: str,
    primary: str,
    highlight: str,
    width: int = _VERTICAL.width,
    height: int = _VERTICAL.height,
    **settings: Unpack[StyleSettings],
) -> CaptionStyle:
    """9:16 social captions: large bold, outlined, 1-2 short lines above the bottom-fifth UI."""
    return _shape_style(_VERTICAL, width, height, font_name, primary, highlight, settings)


def square_style(
    *, font_name: str, primary: str, highlight: str, size: int = _SQUARE.width, **settings: Unpack[StyleSettings]
) -> CaptionStyle:
    """1:1 feed captions (Instagram, LinkedIn, X): bold, outlined, 2 lines in the lower third.

    Feeds overlay no interface on a square post, but crop previews to 4:5 or round corners:
    10 % side margins and 12 % from the bottom keep the text clear. The line length is the
    measured width (26 characters preferred; 864 px at 1080).
    """
    return _shape_style(_SQUARE, size, size, font_name, primary, highlight, settings)


def classic_style(*, font_name: str, primary: str, highlight: str, **settings: Unpack[StyleSettings]) -> CaptionStyle:
    """16:9 1920x1080 captions: bottom centre, 42 characters, 2 lines (Netflix)."""
    return _shape_style(_CLASSIC, _CLASSIC.width, _CLASSIC.height, font_name, primary, highlight, settings)


# The caption styles by name, as data: one entry per frame shape.
STYLES: dict[str, Callable[..., CaptionStyle]] = {
    "classic": classic_style,
    "vertical": vertical_style,
    "square": square_style,
}


def caption_kind(width: int, height: int) -> str:
    """The caption style of a frame shape: vertical (9:16), square (1:1) or classic (16:9)."""
    if height > width:
        return "vertical"
    return "square" if height == width else "classic"


def style_for(
    kind: str, brand: BrandSettings, captions: CaptionSettings, *, max_cps: float | None = None
) -> CaptionStyle:
    """The series' caption style of one frame shape ("classic" 16:9, "vertical" 9:16, "square"
    1:1): the brand's font and colours, the caption settings; no keyword emphasis in 16:9."""
    return STYLES[kind](
        font_name=brand.font,
        primary=brand.primary_colour,
        highlight=brand.highlight_colour,
        fonts_dir=brand.fonts_dir,
        max_cps=captions.max_cps if max_cps is None else max_cps,
        condense=captions.condense,
        emphasis="" if kind == "classic" else captions.emphasis_colour,
        speaker_colours=() if kind == "classic" else tuple(sorted(captions.speaker_colours.items())),
    )
