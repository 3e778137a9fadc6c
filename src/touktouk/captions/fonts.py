"""Font files and measured text width, as libass draws it (with `files`, the only part of captions that reads files)."""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import ImageFont

from touktouk.errors import ConfigError

# The default font (config brand.font "DejaVu Sans"), packaged by Debian's fonts-dejavu-core.
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
DEFAULT_FONT = "DejaVu Sans"
_SYSTEM_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
_FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
_MEASURE_SIZE = 1000  # measure at a large size, then scale: no rounding of metrics


@functools.lru_cache(maxsize=32)
def _faces(folder: str) -> tuple[tuple[str, str, str], ...]:
    """(family, style, path) of every font file under `folder`, sorted by path."""
    out: list[tuple[str, str, str]] = []
    root = Path(folder)
    if not root.is_dir():
        return ()
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in _FONT_SUFFIXES):
        try:
            family, style = ImageFont.truetype(str(path), 12).getname()
        except OSError:
            continue
        out.append(((family or "").casefold(), (style or "").casefold(), str(path)))
    return tuple(out)


@functools.lru_cache(maxsize=32)
def find_font(font_name: str, fonts_dir: str = "", *, bold: bool) -> Path:
    """The font file libass will use for `font_name` (config brand.font) in `fonts_dir`
    (brand.fonts_dir; empty = the system font folders): upright, bold or regular.

    Raises ConfigError when no face of that family is there.
    """
    family = (font_name or DEFAULT_FONT).casefold()
    folders = [Path(fonts_dir)] if fonts_dir else list(_SYSTEM_FONT_DIRS)
    faces = [f for folder in folders for f in _faces(str(folder)) if f[0] == family]
    upright = [f for f in faces if not any(k in f[1] for k in ("italic", "oblique", "condensed"))]

    def score(face: tuple[str, str, str]) -> int:
        is_bold = "bold" in face[1]
        exact = face[1] in (("bold",) if bold else ("regular", "book", "normal", "roman"))
        return (0 if is_bold == bold else 2) + (0 if exact else 1)

    if not upright:
        where = f"fonts_dir '{fonts_dir}'" if fonts_dir else "the system font folders"
        raise ConfigError(
            f"brand.font '{font_name}' (config/touktouk.toml) is not in {where}; "
            "install the font there or set brand.fonts_dir to the folder that holds its .ttf/.otf files."
        )
    return Path(min(upright, key=score)[2])


@functools.lru_cache(maxsize=16)
def _font(path: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, _MEASURE_SIZE)


@functools.lru_cache(maxsize=65536)
def text_width(text: str, font_size: float, *, bold: bool, font_file: str = "") -> float:
    """Width in pixels of one line as libass draws it at ASS `font_size` (outline excluded).

    `font_file` is the face to measure (see `find_font`; default: DejaVu Sans). libass (like
    VSFilter) scales a font so that ascender + descender equals the ASS font size, so the em is
    smaller than the size: DejaVu's ascender + descender is 1.164 em.
    """
    font = _font(font_file or str(find_font(DEFAULT_FONT, str(FONT_DIR), bold=bold)))
    ascent, descent = font.getmetrics()
    return font.getlength(text) * font_size / (ascent + descent)


_NOT_A_CHARACTER = "\U0010fffd"  # private use: no font has it, so it renders as the .notdef box


@functools.lru_cache(maxsize=4096)
def has_glyph(font_file: str, ch: str) -> bool:
    font = ImageFont.truetype(font_file, 48)
    return bytes(font.getmask(ch)) != bytes(font.getmask(_NOT_A_CHARACTER))
