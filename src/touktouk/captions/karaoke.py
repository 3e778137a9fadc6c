"""ASS captions for burning in: karaoke word highlight, keyword emphasis, emoji libass cannot draw."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from pathlib import Path

import pysubs2

from touktouk.captions.fonts import has_glyph
from touktouk.captions.lines import CaptionEvent, split_units
from touktouk.captions.styles import CaptionStyle
from touktouk.french import NBSP, keyword_key


def _colour(hex_rgb: str, alpha: int = 0) -> pysubs2.Color:
    m = re.fullmatch(r"#?([0-9a-fA-F]{2})([0-9a-fA-F]{2})([0-9a-fA-F]{2})", hex_rgb.strip())
    if not m:
        raise ValueError(f"colour '{hex_rgb}' is not #RRGGBB")
    r, g, b = (int(x, 16) for x in m.groups())
    return pysubs2.Color(r, g, b, alpha)


def _ass_colour_tag(hex_rgb: str) -> str:
    c = _colour(hex_rgb)
    return f"{{\\c&H{c.b:02X}{c.g:02X}{c.r:02X}&}}"


def escape_ass_text(text: str) -> str:
    """Make text inert in an ASS event: braces can't open tags, backslashes can't form \\N."""
    # A word joiner after each backslash stops "\N", "\h", "\{" from being read as escapes.
    text = text.replace("\\", "\\\u2060")
    return text.replace("{", "\\{").replace("}", "\\}")


# Colour emoji and the code points that build them (variation selectors, zero-width joiner,
# keycap, tags, skin tones): libass draws none of them (SPECS.md), so burned-in text leaves them out.
_EMOJI = re.compile("[\U0001f000-\U0001faff\u200d\ufe0e\ufe0f\u20e3\U000e0020-\U000e007f]")


def burnable_text(text: str, font_file: str | Path | None = None) -> tuple[str, str]:
    """Text libass can draw, and the emoji left out: emoji code points, and symbols the font
    has no glyph for (they would be empty boxes). Spaces left doubled by a removal are merged."""
    dropped: list[str] = []

    def drop(ch: str) -> bool:
        if _EMOJI.match(ch):
            return True
        if font_file is not None and unicodedata.category(ch) == "So":
            return not has_glyph(str(font_file), ch)
        return False

    kept = []
    for ch in text:
        if drop(ch):
            dropped.append(ch)
        else:
            kept.append(ch)
    if not dropped:
        return text, ""
    clean = re.sub(r"[ \u00a0]{2,}", lambda m: m.group(0)[0], "".join(kept)).strip(" ")
    return clean, "".join(ch for ch in dropped if not ch.isspace())


def emoji_warnings(events: Sequence[CaptionEvent], style: CaptionStyle) -> list[str]:
    """One line per caption whose emoji are left out of the burned-in (ASS) captions; the SRT
    and VTT sidecars keep them. `write_captions` logs these; the flow can report them."""
    font_file = style.font_file()
    out = []
    for ev in events:
        tokens = [t for t in ev.text.split() if burnable_text(t, font_file)[1]]
        if tokens:
            out.append(
                f"caption at {ev.start:.2f} s: emoji in {' '.join(tokens)} left out of the burned-in captions "
                "(libass draws no colour emoji); the SRT and VTT files keep them"
            )
    return out


LEADING_ARTICLES = frozenset({"le", "la", "les", "un", "une", "des", "du"})  # as keyword_key leaves them


def _keyword_sequences(keywords: Collection[str]) -> list[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for kw in keywords:
        tokens = tuple(k for k in (keyword_key(t) for t in kw.replace("-", " ").split()) if k)
        if tokens:
            out.add(tokens)
        if len(tokens) > 1 and tokens[0] in LEADING_ARTICLES:
            out.add(tokens[1:])  # "le réemploi" also matches "réemploi" said without its article
        if kw.startswith("#"):  # #InsertionPro also matches "insertion pro" said aloud
            parts = tuple(keyword_key(p) for p in re.findall(r"[A-ZÀ-Ý]?[a-zà-ÿ]+|[A-ZÀ-Ý]+(?![a-zà-ÿ])|\d+", kw))
            if len(parts) > 1:
                out.add(parts)
    return sorted(out, key=len, reverse=True)


def keyword_segments(lines: Sequence[Sequence[str]], keywords: Collection[str]) -> set[int]:
    """Indexes of the display segments (flattened over lines) that are part of a keyword."""
    seqs = _keyword_sequences(keywords)
    if not seqs:
        return set()
    tokens: list[tuple[str, int]] = []
    k = 0
    for parts in lines:
        for part in parts:
            tokens += [(key, k) for key in (keyword_key(t) for t in part.replace(NBSP, " ").split()) if key]
            k += 1
    keys = [t for t, _ in tokens]
    hit: set[int] = set()
    for seq in seqs:
        n = len(seq)
        for i in range(len(keys) - n + 1):
            if tuple(keys[i : i + n]) == seq:
                hit.update(seg for _, seg in tokens[i : i + n])
    return hit


def _karaoke_segments(ev: CaptionEvent) -> tuple[list[list[str]], list[int]]:
    """Display segments per line, and for each word the index of the segment holding it.

    Segments are the layout units (a word plus glued punctuation), so a word and its
    detached "?" light up together. Events whose lines don't come from `layout_captions`
    fall back to space-separated tokens.
    """
    units = split_units(ev.words)
    lines: list[list[str]] = []
    unit_index: dict[int, int] = {}
    k = 0
    for line in ev.lines:
        parts: list[str] = []
        rest = line
        while rest and k < len(units) and rest.startswith(units[k].text):
            unit_index[k] = sum(len(p) for p in lines) + len(parts)
            parts.append(units[k].text)
            rest = rest[len(units[k].text) :].removeprefix(" ")
            k += 1
        if rest:
            break
        lines.append(parts)
    if k == len(units) and len(lines) == len(ev.lines):
        word_seg = [unit_index[i] for i, u in enumerate(units) for _ in u.words]
        return lines, word_seg
    lines = [line.split(" ") for line in ev.lines]
    n = sum(len(p) for p in lines)
    return lines, [min(i, n - 1) for i in range(len(ev.words))]


def _karaoke_text(
    lines: list[list[str]],
    active: int,
    colour_tag: str,
    emphasised: Collection[int] = (),
    emphasis_tag: str = "",
    font_file: Path | None = None,
) -> str:
    """ASS text of one event: the active segment in the highlight colour, keyword segments in
    the emphasis colour (the highlight wins on the active word), emoji left out."""
    out: list[str] = []
    k = 0
    for parts in lines:
        shown = []
        for part in parts:
            text = escape_ass_text(burnable_text(part, font_file)[0])
            if not text:
                pass
            elif k == active:
                text = f"{colour_tag}{text}{{\\r}}"
            elif k in emphasised and emphasis_tag:
                text = f"{emphasis_tag}{text}{{\\r}}"
            if text:
                shown.append(text)
            k += 1
        out.append(" ".join(shown))
    return "\\N".join(out)


def to_ssa(
    events: Sequence[CaptionEvent], style: CaptionStyle, *, karaoke: bool, keywords: Collection[str] = ()
) -> pysubs2.SSAFile:
    """An ASS file for the events; with karaoke, one event per word with that word highlighted.

    Words of `keywords` (guest, organisation, cause, hashtags) are shown in the style's
    emphasis colour when it has one; the active word in its speaker's colour where the style
    gives one (`speaker_colours`). Emoji are left out: libass cannot draw them.
    """
    subs = pysubs2.SSAFile()
    subs.info["PlayResX"] = str(style.play_res_x)
    subs.info["PlayResY"] = str(style.play_res_y)
    subs.info["WrapStyle"] = "2"
    subs.info["ScaledBorderAndShadow"] = "yes"
    subs.styles = {
        style.name: pysubs2.SSAStyle(
            fontname=style.font_name,
            fontsize=float(style.font_size),
            primarycolor=_colour(style.primary_colour),
            secondarycolor=_colour(style.highlight_colour),
            outlinecolor=_colour(style.outline_colour),
            backcolor=_colour("#000000", alpha=0x80),
            bold=style.bold,
            outline=style.outline,
            shadow=style.shadow,
            alignment=pysubs2.Alignment(style.alignment),
            marginl=style.margin_h,
            marginr=style.margin_h,
            marginv=style.margin_v,
        )
    }
    tag = _ass_colour_tag(style.highlight_colour)
    speaker_tags = {who: _ass_colour_tag(colour) for who, colour in style.speaker_colours}
    emphasis_tag = _ass_colour_tag(style.emphasis_colour) if style.emphasis_colour and keywords else ""
    font_file = style.font_file()

    def ms(t: float) -> int:
        return round(t * 1000)

    for ev in events:
        lines, seg_of = _karaoke_segments(ev) if ev.words else ([line.split(" ") for line in ev.lines], [])
        emphasised = keyword_segments(lines, keywords) if emphasis_tag else set()
        if not karaoke or not ev.words:
            text = _karaoke_text(lines, -1, tag, emphasised, emphasis_tag, font_file)
            subs.append(pysubs2.SSAEvent(start=ms(ev.start), end=ms(ev.end), text=text, style=style.name))
            continue
        for i, w in enumerate(ev.words):
            a = ev.start if i == 0 else min(max(w.start, ev.start), ev.end)
            b = ev.end if i + 1 == len(ev.words) else min(max(ev.words[i + 1].start, ev.start), ev.end)
            if ms(b) <= ms(a):
                continue  # a word with no time of its own (same start as the next)
            active_tag = speaker_tags.get(w.speaker, tag)
            text = _karaoke_text(lines, seg_of[i], active_tag, emphasised, emphasis_tag, font_file)
            subs.append(pysubs2.SSAEvent(start=ms(a), end=ms(b), text=text, style=style.name))
    return subs
