from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from touktouk.clips.chapters import Chapter, format_chapters
from touktouk.french import with_preposition
from touktouk.platforms import Platform, x_weighted_length, x_weighted_prefix

ELLIPSIS = "…"


@dataclass(frozen=True)
class Template:
    title: str
    text: str


_CTA = "Épisode complet sur YouTube"
_ABOUT = "{guest} ({organisation}) sur {cause}, dans {series}."  # the short-video platforms

# The French default texts. How empty fields are left out, and how {cause} is joined after
# "de" (with its article: "le réemploi"), is `_render`'s rule.
DEFAULT_TEMPLATES: dict[str, Template] = {
    "youtube": Template(
        title="{guest} ({organisation}) : {hook}",
        text=(
            "{hook}\n\n"
            "{guest} ({organisation}) nous parle de {cause}.\n\n"
            "Un épisode de {series}, l'émission qui donne la parole à celles et ceux qui font "
            "l'économie sociale et solidaire.\n\n"
            "{hashtags}"
        ),
    ),
    "youtube_shorts": Template(
        title="{guest} ({organisation}) : {hook}",
        text="{hook}\n\n" + _ABOUT + "\n" + _CTA + " : {episode_url}\n\n{hashtags}",
    ),
    "tiktok": Template(title="", text="{hook}\n\n" + _ABOUT + "\n" + _CTA + " 👉 lien en bio\n\n{hashtags}"),
    "instagram_reels": Template(title="", text="{hook}\n\n" + _ABOUT + "\n" + _CTA + " (lien en bio)\n\n{hashtags}"),
    "linkedin": Template(
        title="",
        text=(
            "{hook}\n\n"
            "Dans l'émission {series}, {guest} ({organisation}) partage son expérience sur {cause}.\n\n"
            "L'entretien complet est disponible sur YouTube : {episode_url}\n\n"
            "{hashtags}"
        ),
    ),
    "x": Template(
        title="",
        text="{guest} ({organisation}) : {hook} {episode_url} {hashtags}",
    ),
}


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class _Field:
    name: str
    spec: str
    conv: str | None


# Template sentences: a template is cut at line breaks, after . ! ? … and after a spaced colon,
# which ends a lead-in ("Épisode complet sur YouTube :", "{guest} ({organisation}) :").
_CUT = re.compile(r"(?<=[.!?…])[ \t]+|(?<= :)[ \t]+")
# A sentence "has words of its own" when its literal text holds more than spaces and punctuation.
_OWN_WORDS = re.compile(r"[^\s,.;:!?…()\[\]«»“”\"'’–—-]")
_PREPOSITION = re.compile(r"(?:^|(?<=\s))(de|De|à|À) $")


def _sentences(template: str) -> list[list[list[str | _Field]]]:
    """The template's lines, each a list of sentences, each a list of literal texts and fields."""
    lines: list[list[list[str | _Field]]] = [[[]]]
    for literal, name, spec, conv in _FORMATTER.parse(template):
        for j, piece in enumerate(literal.split("\n")):
            if j:
                lines.append([[]])
            for k, text in enumerate(_CUT.split(piece)):
                if k:
                    lines[-1].append([])
                if text:
                    lines[-1][-1].append(text)
        if name is not None:
            # Only plain names: "{a.b}" or "{a[0]}" in a template would reach into objects.
            lines[-1][-1].append(_Field(name.split(".")[0].split("[")[0], spec or "", conv))
    return [[s for s in line if s] for line in lines]


def _in_brackets(parts: list[str | _Field], i: int) -> bool:
    before, after = parts[i - 1] if i else "", parts[i + 1] if i + 1 < len(parts) else ""
    return (
        isinstance(before, str)
        and isinstance(after, str)
        and before.rstrip().endswith(("(", "[", "«"))
        and after.lstrip().startswith((")", "]", "»"))
    )


def _render_sentence(parts: list[str | _Field], values: Mapping[str, str]) -> str | None:
    """One template sentence filled in, or None when a field it needs is empty (see `_render`)."""
    own_words = any(isinstance(p, str) and _OWN_WORDS.search(p) for p in parts)
    needed = [bool(values[p.name]) for i, p in enumerate(parts) if isinstance(p, _Field) and not _in_brackets(parts, i)]
    if (own_words and not all(needed)) or (not own_words and needed and not any(needed)):
        return None
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        raw = values[part.name]
        if not raw:
            continue
        value = _FORMATTER.format_field(_FORMATTER.convert_field(raw, part.conv), part.spec)
        m = _PREPOSITION.search(out[-1]) if out else None
        if m:
            out[-1] = out[-1][: m.start(1)]
            value = with_preposition(m.group(1), value)
        out.append(value)
    return "".join(out)


def _join_line(line: list[list[str | _Field]], values: Mapping[str, str]) -> str | None:
    """One template line filled in; None when every sentence of it was left out (the line goes)."""
    rendered = [_render_sentence(parts, values) for parts in line]
    kept: list[str] = []
    for i, text in enumerate(rendered):
        if text is None:
            continue
        if i + 1 < len(rendered) and text.rstrip().endswith(":") and isinstance(line[i][-1], str):  # a lead-in
            following = rendered[i + 1]
            if following is None or not re.search(r"\w", following):
                continue  # it goes with what it introduces
            head = re.sub(r"\s*\([^()]*\)$", "", text.rstrip(" :")).strip()
            if head and following.strip().casefold().startswith(head.casefold()):
                continue  # "Awa Diallo : Awa Diallo : réparer…"
            if " : " in following:  # one colon a sentence: the lead-in takes a dash
                text = text.rstrip(" :") + " –"
        kept.append(text.strip())
    joined = " ".join(t for t in kept if t)
    return None if line and not _tidy(joined) else joined


def _render(template: str, fields: Mapping[str, str]) -> str:
    """The template filled in, as a sentence-by-sentence rule (what a French editor would do with
    a missing detail: leave the sentence out, never print it with a hole):

    - the template is cut into sentences at line breaks, after . ! ? … and after a spaced colon
      (" : " ends a lead-in: "{guest} ({organisation}) :", "Épisode complet sur YouTube :");
    - a sentence with an empty field is left out whole, except a field in brackets, which goes
      with its brackets ("{guest} ({organisation})"), and sentences with no words of their own,
      made only of fields ("{hook}", "{episode_url} {hashtags}"), which keep what is filled
      (and go when only bracketed fields are);
    - a lead-in goes with what it introduces, is left out when that repeats it ("{guest} :"
      before a hook naming the guest), and takes a dash when what follows has a colon;
    - after "de" or "à" a field is joined as French writes it (`french.with_preposition`):
      "de" + "le réemploi et l'insertion" reads "du réemploi et de l'insertion". So a cause is
      written with its article ("le réemploi", "l'économie sociale").
    """
    values = _Blank(fields)
    lines = [_join_line(line, values) for line in _sentences(template)]
    return _tidy(unicodedata.normalize("NFC", "\n".join(line for line in lines if line is not None)))


def _tidy(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"[ \t\u00a0]+", " ", line)
        line = re.sub(r"\(\s*\)|«\s*»|\[\s*\]", "", line)  # brackets around an empty field
        line = re.sub(r" +([,.)])", r"\1", line)
        line = re.sub(r"([,:]\s*)+([.:])", r"\2", line)  # ", ." left by an empty field
        line = re.sub(r" {2,}", " ", line).strip()
        line = re.sub(r"^[,:;.–-]+\s*|\s*[,:;–-]+$", "", line).strip()
        lines.append(line)
    text = "\n".join(lines).replace(ELLIPSIS + ".", ELLIPSIS)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


UNITS = ("chars", "bytes", "weighted")  # weighted: as X counts (`platforms.x_weighted_length`)


def _size(text: str, unit: str) -> int:
    if unit == "bytes":
        return len(text.encode("utf-8"))
    return x_weighted_length(text) if unit == "weighted" else len(text)


def fit(text: str, limit: int, unit: str = "chars") -> str:
    """Cut at a word boundary and end with "…" so the text fits; unchanged if it fits."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, not '{unit}'")
    if _size(text, unit) <= limit:
        return text
    room = limit - _size(ELLIPSIS, unit)
    if room <= 0:
        return _hard_cut(text, limit, unit)
    head = _hard_cut(text, room, unit)
    # Back up to the last whitespace when the cut fell inside a word.
    if not text[len(head) : len(head) + 1].isspace():
        space = max(head.rfind(" "), head.rfind("\n"))
        if space > 0:
            head = head[:space]
    head = head.rstrip(" \t\n\u00a0,;:–-")
    return head + ELLIPSIS if head else _hard_cut(text, room, unit) + ELLIPSIS


def _hard_cut(text: str, limit: int, unit: str) -> str:
    if unit == "chars":
        return text[: max(limit, 0)]
    if unit == "weighted":
        return x_weighted_prefix(text, max(limit, 0))
    return text.encode("utf-8")[: max(limit, 0)].decode("utf-8", errors="ignore")


_SENTENCE = re.compile(r"(.+?[.!?…]+[»\"')\]]*)(?:\s|$)", re.S)


def hook_from(text: str, limit: int = 90) -> str:
    """The first sentence of the clip text, fitted to `limit` characters."""
    text = " ".join(text.split())
    m = _SENTENCE.match(text)
    return fit(m.group(1) if m else text, limit)


def hashtag(word: str) -> str:
    """A hashtag from words: "économie sociale" -> "#ÉconomieSociale" (accents kept)."""
    parts = re.split(r"[\W_]+", word.replace("#", " "))
    body = "".join(p[:1].upper() + p[1:] for p in parts if p)
    return "#" + body if body else ""


def _hashtags(words: Sequence[str], limit: int) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for w in words:
        tag = hashtag(w)
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            out.append(tag)
    return out[:limit]


def _tags(words: Sequence[str], limit: int) -> list[str]:
    """YouTube tags (plain words) whose total stays within the limit.

    Counted as YouTube counts them: a tag with a space costs two more (quotes) and each
    tag after the first one more (comma).
    """
    out: list[str] = []
    seen: set[str] = set()
    used = 0
    for w in words:
        tag = " ".join(w.replace("#", " ").replace(",", " ").split())
        if not tag or tag.casefold() in seen:
            continue
        cost = len(tag) + (2 if " " in tag else 0) + (1 if out else 0)
        if used + cost <= limit:
            out.append(tag)
            seen.add(tag.casefold())
            used += cost
    return out


def _fill(template: str, fields: dict[str, str], limit: int, unit: str) -> str:
    """Render and, while too long, shorten the longest fields (keeps the CTA and hashtags).

    The longest fields are cut down to a common length, so one huge field can't push
    the others out.
    """
    fields = dict(fields)
    used = {name for _, name, _, _ in _FORMATTER.parse(template) if name}
    protected = {"hashtags", "episode_url"}
    for _ in range(20):
        text = _render(template, fields)
        over = _size(text, unit) - limit
        if over <= 0:
            return text
        sizes = sorted(
            ((_size(v, unit), n) for n, v in fields.items() if n in used and n not in protected and v),
            reverse=True,
        )
        if not sizes:
            break
        level = 0
        for k in range(1, len(sizes) + 1):
            top = sum(size for size, _ in sizes[:k])
            below = sizes[k][0] if k < len(sizes) else 0
            if top - k * below >= over:
                level = max(0, (top - over) // k)
                break
        for size, name in sizes:
            if size > level:
                value = fields[name]
                cut = fit(value, level, unit)
                fields[name] = cut if cut != value else ""
    return fit(_render(template, fields), limit, unit)


def describe(
    platform: Platform, fields: Mapping[str, str], hashtags: Sequence[str], template: Template
) -> dict[str, object]:
    """Title, text, hashtags (and YouTube tags) for one platform, within its limits."""
    tags = _hashtags(hashtags, platform.max_hashtags)
    values = {k: " ".join(str(v).split()) for k, v in fields.items()}
    values["hashtags"] = " ".join(tags)
    title: str | None = None
    if platform.title_limit is not None:
        title = _fill(
            template.title, {k: v for k, v in values.items() if k != "hashtags"}, platform.title_limit, "chars"
        )
        if not title:  # every sentence of the title template left out: the episode's title
            title = fit(values.get("title") or values.get("series", ""), platform.title_limit)
    text = _fill(template.text, values, platform.text_limit, platform.text_unit)
    out: dict[str, object] = {"platform": platform.id, "title": title, "text": text, "hashtags": tags}
    if platform.tags_limit is not None:
        out["tags"] = _tags(hashtags, platform.tags_limit)
    return out


CHAPTERS_HEADING = "Chapitres :"


def with_chapters(text: str, chapters: Sequence[Chapter], limit: int = 5000, unit: str = "bytes") -> str:
    """The YouTube description with a « Chapitres » block (`0:00 Titre` lines) before its hashtags.

    YouTube makes chapters from such a list when it starts at 0:00 and has 3+ entries of 10 s+
    (`clips.chapters.find_chapters` guarantees both). To stay within `limit`, the body is shortened,
    never the chapter list; with fewer than 3 chapters, or no room at all, the text is unchanged.
    """
    if len(chapters) < 3:
        return text
    block = CHAPTERS_HEADING + "\n" + format_chapters(chapters)
    paragraphs = text.split("\n\n")
    tail = paragraphs.pop() if len(paragraphs) > 1 and paragraphs[-1].startswith("#") else ""
    body = "\n\n".join(paragraphs)
    room = limit - _size(block, unit) - _size(tail, unit) - (4 if tail else 2)
    if room < 0:
        return text
    return "\n\n".join(p for p in (fit(body, room, unit), block, tail) if p)
