from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from touktouk.clips.chapters import Chapter, format_chapters
from touktouk.platforms import Platform

ELLIPSIS = "…"


@dataclass(frozen=True)
class Template:
    title: str
    text: str


_CTA = "Épisode complet sur YouTube"

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
        text="{hook}\n\n{guest} ({organisation}) sur {cause}. {series}.\n" + _CTA + " : {episode_url}\n\n{hashtags}",
    ),
    "tiktok": Template(
        title="",
        text="{hook}\n\n{guest} ({organisation}) sur {cause}. {series}\n" + _CTA + " 👉 lien en bio\n\n{hashtags}",
    ),
    "instagram_reels": Template(
        title="",
        text="{hook}\n\n{guest} ({organisation}) sur {cause}. {series}\n" + _CTA + " (lien en bio)\n\n{hashtags}",
    ),
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


def _render(template: str, fields: Mapping[str, str]) -> str:
    """Format with missing fields as "", then tidy what empty fields leave behind."""
    values = _Blank(fields)
    parts: list[str] = []
    for literal, name, spec, conv in _FORMATTER.parse(template):
        parts.append(literal)
        if name is not None:
            # Only plain names: "{a.b}" or "{a[0]}" in a template would reach into objects.
            value = values[name.split(".")[0].split("[")[0]]
            parts.append(_FORMATTER.format_field(_FORMATTER.convert_field(value, conv), spec or ""))
    return _tidy("".join(parts))


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


def _size(text: str, unit: str) -> int:
    return len(text.encode("utf-8")) if unit == "bytes" else len(text)


def fit(text: str, limit: int, unit: str = "chars") -> str:
    """Cut at a word boundary and end with "…" so the text fits; unchanged if it fits."""
    if unit not in ("chars", "bytes"):
        raise ValueError(f"unit must be 'chars' or 'bytes', not '{unit}'")
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
