"""Condensed captions: disfluencies left out where a caption is still too fast to read."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace

from touktouk.captions.lines import CaptionEvent, break_lines, split_units
from touktouk.french import DISFLUENCIES, KEEP_REPEATED, LINE_END_PUNCT, NBSP, bare_word
from touktouk.types import Word

_log = logging.getLogger(__name__)


def condense_words(words: Sequence[Word], fillers: Collection[str] = DISFLUENCIES) -> tuple[list[Word], list[Word]]:
    """Drop disfluencies from verbatim words: fillers (« euh », « ben », « hein »…) and a word
    said twice in a row (« je je »). Returns (kept, dropped); content words are always kept.

    A question or exclamation mark carried by a dropped word (« oui, hein ? ») moves to the word
    before it; a word after a dropped sentence-initial filler (« Euh, je ») gets its capital.
    """
    keys = {f.lower() for f in fillers}
    kept: list[Word] = []
    dropped: list[Word] = []
    capitalise = False
    for i, w in enumerate(words):
        key = bare_word(w.text)
        nxt = bare_word(words[i + 1].text) if i + 1 < len(words) else ""
        filler = key in keys and (key != "ben" or not w.text[:1].isupper())  # Ben is also a name
        stutter = bool(key) and key == nxt and key not in KEEP_REPEATED and not w.text.rstrip().endswith(LINE_END_PUNCT)
        if not key and dropped and dropped[-1] is words[i - 1] and kept:
            # Punctuation said with a dropped word (« hein » « ? »): it moves to the word before.
            mark = w.text.strip()
            if mark and mark[0] in "?!.…" and not kept[-1].ends_sentence:
                sep = "" if mark[0] in ".…" else NBSP
                kept[-1] = replace(kept[-1], text=kept[-1].text.rstrip(",;: ") + sep + mark)
            continue
        if not key or not (filler or stutter) or (not kept and i + 1 == len(words)):
            if capitalise and w.text[:1].islower():
                w = replace(w, text=w.text[:1].upper() + w.text[1:])
            capitalise = False
            kept.append(w)
            continue
        dropped.append(w)
        capitalise = capitalise or (w.text[:1].isupper() and (not kept or kept[-1].ends_sentence))
        tail = w.text.rstrip()[-1:]
        if tail in "?!" and kept and not kept[-1].ends_sentence:
            kept[-1] = replace(kept[-1], text=kept[-1].text.rstrip(",;: ") + NBSP + tail)
    return kept, dropped


def condense_events(
    events: list[CaptionEvent],
    fillers: frozenset[str],
    max_chars: int,
    max_lines: int,
    max_cps: float,
    fits_wide: Callable[[str], bool] | None,
) -> list[CaptionEvent]:
    """Last resort for events still over the reading speed: leave out their disfluencies."""
    out: list[CaptionEvent] = []
    for ev in events:
        duration = ev.end - ev.start
        if duration <= 0 or len(ev.text) <= max_cps * duration:
            out.append(ev)
            continue
        kept, dropped = condense_words(ev.words, fillers)
        if not dropped or not kept:
            out.append(ev)
            continue
        lines, _ = break_lines([u.text for u in split_units(kept)], max_chars, max_lines, fits_wide)
        _log.info(
            "Caption at %.2f s condensed for reading speed: left out %s",
            ev.start,
            ", ".join(f"« {w.text} »" for w in dropped),
        )
        out.append(replace(ev, lines=lines, words=tuple(kept)))
    return out
