"""Transcription guards: hallucinated phrases, words without acoustic support, repetition loops."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from touktouk.french import merge_elisions
from touktouk.types import Segment, Word

log = logging.getLogger(__name__)

# Whisper's classic inventions over silence or music, matched on normalised text.
# They are dropped unless the words have real acoustic support (see `has_acoustic_support`).


@dataclass(frozen=True)
class Decoded:
    """One segment as a backend decoded it, before the guards (words keep their leading space)."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0

    def shifted(self, offset: float) -> Decoded:
        """The same segment with its times (and its words' times) `offset` seconds later."""
        words = tuple(Word(offset + w.start, offset + w.end, w.text, w.probability) for w in self.words)
        return Decoded(offset + self.start, offset + self.end, self.text, words, self.no_speech_prob, self.avg_logprob)


HALLUCINATIONS = (
    "sous-titres réalisés par la communauté d'amara.org",
    "sous-titres réalisés para la communauté d'amara.org",
    "sous-titres fait par la communauté d'amara.org",
    "sous-titrage st' 501",
    "sous-titrage st 501",
    "sous-titrage société radio-canada",
    "sous-titrage fr",
    "merci d'avoir regardé cette vidéo",
    "merci d'avoir regardé",
    "merci de votre attention",
    "abonnez-vous",
    "n'oubliez pas de vous abonner",
    "à bientôt pour une nouvelle vidéo",
    "thank you for watching",
    "thanks for watching",
    "subtitles by the amara.org community",
)
# Acoustic support: what a suspicious segment needs to be kept (measured: real speech of the base
# model has mean word probability 0.7-0.9; its inventions over silence stay far below).
SUPPORT_MIN_PROBABILITY = 0.75
SUPPORT_MAX_NO_SPEECH = 0.4
SUPPORT_MIN_SPEECH_SHARE = 0.5


def _clean_text(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w' ]+", " ", text.lower().replace("’", "'"))).strip()


def is_hallucination(text: str, prompt: str = "") -> bool:
    """A known invention (or an echo of the vocabulary prompt) making up the whole segment."""
    t = _clean_text(text)
    if not t:
        return False
    if prompt and t == _clean_text(prompt):
        return True
    return any(_clean_text(h) in t and len(t) <= len(_clean_text(h)) + 10 for h in HALLUCINATIONS)


def speech_share(start: float, end: float, speech: Sequence[tuple[float, float]]) -> float:
    """Share of [start, end] inside the speech regions (a zero-length word counts by its instant)."""
    if end <= start:
        return 1.0 if any(a <= start <= b for a, b in speech) else 0.0
    inside = sum(max(0.0, min(end, b) - max(start, a)) for a, b in speech)
    return inside / (end - start)


def has_acoustic_support(seg: Decoded, speech: Sequence[tuple[float, float]] | None = None) -> bool:
    """Whether the words of `seg` are really heard: confident words, a low no-speech probability
    and, when voice activity is known, mostly inside detected speech."""
    if not seg.words:
        return False
    mean_p = sum(w.probability for w in seg.words) / len(seg.words)
    if mean_p < SUPPORT_MIN_PROBABILITY or seg.no_speech_prob > SUPPORT_MAX_NO_SPEECH:
        return False
    if speech is not None:
        total = sum(max(w.end - w.start, 0.0) for w in seg.words)
        inside = sum(speech_share(w.start, w.end, speech) * max(w.end - w.start, 0.0) for w in seg.words)
        if total > 0 and inside / total < SUPPORT_MIN_SPEECH_SHARE:
            return False
    return True


def _norm_word(text: str) -> str:
    return _clean_text(text).replace(" ", "")


def cut_word_loop(words: Sequence[Word], *, max_ngram: int = 8) -> list[Word]:
    """Cut a repetition loop inside a run of words: an n-gram repeated back to back (4 times or more
    for one word, 3 times or more for longer n-grams) keeps its first occurrence only. Words that
    carry no letters or digits ('...', '♪') count as empty and repeat too."""
    keys = [_norm_word(w.text) for w in words]
    out_idx: list[int] = []
    i = 0
    n_words = len(words)
    while i < n_words:
        cut = False
        for n in range(1, max_ngram + 1):
            need = 4 if n == 1 else 3
            if i + n * need > n_words:
                break
            gram = keys[i : i + n]
            reps = 1
            while keys[i + reps * n : i + (reps + 1) * n] == gram:
                reps += 1
            if reps >= need:
                out_idx.extend(range(i, i + n))
                i += reps * n
                cut = True
                break
        if not cut:
            out_idx.append(i)
            i += 1
    return [words[k] for k in out_idx]


def cut_repetitions(segments: Sequence[Decoded], *, max_repeats: int = 2) -> list[Decoded]:
    """Repetition loops cut: inside each segment (see `cut_word_loop`), and across segments, where
    the same text more than `max_repeats` times in a row keeps its first `max_repeats`."""
    out: list[Decoded] = []
    run = 0
    for seg in segments:
        words = cut_word_loop(seg.words)
        if len(words) != len(seg.words):
            text = "".join(w.text for w in words).strip()
            seg = Decoded(seg.start, seg.end, text, tuple(words), seg.no_speech_prob, seg.avg_logprob)
        key = _clean_text(seg.text)
        run = run + 1 if out and key and key == _clean_text(out[-1].text) else 1
        if run > max_repeats:
            continue
        out.append(seg)
    return out


# Punctuation that Whisper may write as a word of its own. faster-whisper (and openai-whisper)
# glue a mark to the word before it only when it has no leading space and is one of their
# "append" marks (. , ! ? : and a few more, not ; or %); French spacing (" ?", " !", " :", " ;",
# " »") and the marks they leave out (";", "%") stay separate words, which the letter-or-digit
# guard would drop. Closing marks go onto the previous word, opening marks onto the next one.
_CLOSING_MARKS = re.compile(r"[,.;:!?…»”)\]%]+")
_OPENING_MARKS = re.compile(r"[«“(\[]+")
# A spaced run of dots is Whisper's mark for a pause or inaudible speech, not the end of the word
# before it: left alone (so dropped).
_PAUSE_DOTS = re.compile(r"\s+(?:\.{2,}|…)")


def attach_punctuation(words: Sequence[Word]) -> tuple[Word, ...]:
    """Words that are only punctuation joined to their word: closing marks (? ! : ; , . » ) %)
    to the previous word (" vous" + " ?" -> " vous?", as if the model had glued them), opening
    marks («, “, () to the next one. The word keeps its own times (the mark is not heard) and
    its leading space; a mark with no word on that side is left as it is (the guards drop it).

    The glued form is the transcript's one spelling: captions put the French non-breaking space
    back (`french.french_typography`)."""
    out: list[Word] = []
    opening: list[Word] = []  # opening marks waiting for the next word
    for w in words:
        mark = w.text.strip()
        if opening and re.search(r"\w", w.text):
            marks = "".join(o.text.strip() for o in opening)
            w = Word(w.start, w.end, " " + marks + w.text.lstrip(), w.probability)
            opening = []
        elif _OPENING_MARKS.fullmatch(mark):
            opening.append(w)
            continue
        out.extend(opening)
        opening = []
        if (
            out
            and _CLOSING_MARKS.fullmatch(mark)
            and not _PAUSE_DOTS.fullmatch(w.text)
            and re.search(r"\w", out[-1].text)
        ):
            prev = out[-1]
            out[-1] = Word(prev.start, prev.end, prev.text + mark, prev.probability)
        else:
            out.append(w)
    out.extend(opening)
    return tuple(out)


def apply_guards(
    decoded: Sequence[Decoded], *, speech: Sequence[tuple[float, float]] | None = None, prompt: str = ""
) -> list[Segment]:
    """From decoded segments to transcript segments with every guard applied:

    - punctuation written as a word of its own is attached to its word (`attach_punctuation`);
    - words outside detected speech are dropped (when voice activity is known);
    - words without a letter or digit ('...', '♪') are dropped;
    - known hallucination phrases (and echoes of the vocabulary prompt) are dropped unless
      the segment has acoustic support;
    - repetition loops are cut;
    - French elisions are merged into whole words.
    """
    kept: list[Decoded] = []
    for seg in decoded:
        words = tuple(
            w
            for w in attach_punctuation(seg.words)
            if re.search(r"\w", w.text) and (speech is None or speech_share(w.start, w.end, speech) > 0)
        )
        if not words:
            continue
        if words != seg.words:
            seg = Decoded(
                seg.start, seg.end, "".join(w.text for w in words).strip(), words, seg.no_speech_prob, seg.avg_logprob
            )
        if is_hallucination(seg.text, prompt) and not has_acoustic_support(seg, speech):
            log.info("Dropped a likely Whisper hallucination at %.1f s: %r", seg.start, seg.text)
            continue
        kept.append(seg)
    segments = []
    for seg in cut_repetitions(kept):
        words = tuple(merge_elisions(list(seg.words)))
        if words:
            text = seg.text.strip() if len(seg.words) == len(words) else " ".join(w.text for w in words)
            segments.append(Segment(words[0].start, words[-1].end, text, words))
    return segments
