"""The review page: one static HTML file per manifest (or proposal), rendered from
`templates/review.html.j2` (jinja2, autoescaped), for the producers (in French).

Per clip: its 9:16 video (cover as poster), its words (the suspect ones highlighted, each one
seeks the video), the score breakdown and reason, the platform texts and the files; then a
decisions form whose buttons give the JSON of the Prefect form (`orchestration.review.ReviewInput`)
and the TOML of the episode file. Inline CSS and JS only: no fetch, no external resource.

Every link is relative to the page's key, so the page works from a folder store and through any
host that serves the store's keys. A presigned S3 link would leave those relative links pointing
at private objects: `signed_copy` makes the copy whose every link is presigned
(`publish.pointer.review_link` stores it). Pure: no store, no clock.
"""

from __future__ import annotations

import functools
import html
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote

import jinja2

from touktouk.clips.scoring import LABELS, WEIGHTS
from touktouk.platforms import PLATFORMS
from touktouk.store.keys import manifest_key, review_depth_key

TEMPLATE = "review.html.j2"
SIGNED_META = "touktouk-signed"  # <meta> of a signed copy: the page it copies and when its links expire
# Attributes that hold store links in the template (href, src, poster); a relative value never
# holds ':' (`relative_href` percent-encodes it), an in-page anchor starts with '#'.
_LINK_ATTR = re.compile(r'(\s(?:href|src|poster)=")([^"#:][^":]*)(")')
_SIGNED = re.compile(rf'<meta name="{SIGNED_META}" data-source="([^"]*)" data-expires="([^"]*)">')


# The page is French: the reasons `review.suspects.flag_words` gives, as a producer reads them.
_REASONS_FR = {
    "low probability": "probabilité Whisper faible",
    "name not in the episode's vocabulary": "nom absent du vocabulaire de l'épisode",
    "too short": "trop bref",
    "too long": "trop long",
    "not a French word": "mot inconnu en français",
}


def french_reason(reason: str) -> str:
    """A suspect-word reason in French ("low probability 0.42" → "probabilité Whisper faible
    0.42"); a reason without a translation is shown as it is."""
    for english, french in _REASONS_FR.items():
        if reason.startswith(english):
            return french + reason[len(english) :]
    return reason


def thumbnail_times(start: float, end: float, n: int) -> list[float]:
    """`n` instants spread evenly over [start, end]: the middle of each of n equal parts (ms precision)."""
    if n <= 0 or end <= start:
        return []
    step = (end - start) / n
    return [min(end, max(start, round(start + (i + 0.5) * step, 3))) for i in range(n)]


def relative_href(page_key: str, target_key: str) -> str:
    """A relative link from the page at `page_key` to the object at `target_key`, percent-encoded."""
    rel = posixpath.relpath(target_key, posixpath.dirname(page_key) or ".")
    return quote(rel, safe="/-._~")


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("touktouk.publish", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _time(seconds: Any) -> str:
    s = float(seconds or 0)
    m, sec = divmod(s, 60)
    return f"{int(m)}:{sec:04.1f}"


def _prefix(manifest: Mapping[str, Any]) -> str:
    ep = manifest["episode"]
    return f"{ep['series_slug']}/s{int(ep['season']):02d}/e{int(ep['number']):02d}-{ep['slug']}"


def _platform_label(pid: str) -> str:
    return PLATFORMS[pid].label if pid in PLATFORMS else pid


def _scores(parts: Mapping[str, Any]) -> dict[str, Any]:
    rows = []
    for name, value in parts.items():
        v = float(value) + 0.0  # no « -0.000 »
        weight = WEIGHTS.get(name)
        rows.append(
            {
                "label": LABELS.get(name, name),
                "points": f"{v:+.3f}",
                "max": f"/ {weight:.2f}" if weight else "",
                "share": f"{v / weight:.0%}" if weight else "",
                "width": f"{min(100.0, abs(v) * 400):.0f}",  # 0.25 fills the bar
                "negative": v < 0,
            }
        )
    return {"rows": rows, "total": f"{sum(float(v) for v in parts.values()):.3f}"}


def _platform_texts(metadata: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for pid, meta in metadata.items():
        if not isinstance(meta, Mapping):
            continue
        out.append(
            {
                "label": _platform_label(pid),
                "title": str(meta.get("title") or ""),
                "text": str(meta.get("text") or ""),
                "hashtags": " ".join(str(h) for h in meta.get("hashtags") or []),
                "tags": ", ".join(str(t) for t in meta.get("tags") or []),
            }
        )
    return out


def main_video(outputs: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The output the page plays: the largest portrait (9:16) one, else the first."""
    portrait = [o for o in outputs if int(o.get("height") or 0) > int(o.get("width") or 0)]
    if portrait:
        return max(portrait, key=lambda o: int(o["width"]) * int(o["height"]))
    return outputs[0] if outputs else None


def _words(clip: Mapping[str, Any], words: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The clip's words for the page: start and end relative to the clip (where its video seeks),
    and the reasons a word is suspect (an empty tuple: not suspect)."""
    start = float(clip.get("start") or 0)
    out = []
    for w in words:
        flags = tuple(str(f) for f in w.get("flags") or ())
        out.append(
            {
                "text": str(w.get("text", "")).strip(),
                "t": f"{max(0.0, float(w.get('start') or 0) - start):.2f}",
                "e": f"{max(0.0, float(w.get('end') or 0) - start):.2f}",
                "flags": "À vérifier : " + " ; ".join(flags) if flags else "",
            }
        )
    return [w for w in out if w["text"]]


def _clip(
    page: str,
    clip: Mapping[str, Any],
    thumbs: Sequence[str],
    words: Sequence[Mapping[str, Any]],
    linked: set[str],
) -> dict[str, Any]:
    def href(key: str) -> str:
        linked.add(key)
        return relative_href(page, key)

    outputs = list(clip.get("outputs") or [])
    video = main_video(outputs)
    cover = str(clip.get("cover") or "")
    platforms_by_key: dict[str, list[str]] = {}
    sizes: dict[str, str] = {}
    for out in outputs:
        key = str(out["key"])
        platforms_by_key.setdefault(key, []).append(_platform_label(str(out.get("platform", ""))))
        sizes[key] = f"{out.get('width')}x{out.get('height')}"
    files = [
        {"href": href(key), "label": f"{', '.join(labels)} : vidéo {sizes[key]}"}
        for key, labels in platforms_by_key.items()
    ]
    files += [
        {"href": href(str(key)), "label": f"Sous-titres ({fmt})"} for fmt, key in (clip.get("captions") or {}).items()
    ]
    if cover:
        files.append({"href": href(cover), "label": "Couverture (JPEG)"})
    if clip.get("metadata_key"):
        files.append({"href": href(str(clip["metadata_key"])), "label": "Textes des plateformes (JSON)"})
    shown = _words(clip, words)
    return {
        "id": str(clip.get("id", "")),
        "start": _time(clip.get("start")),
        "end": _time(clip.get("end")),
        "duration": f"{float(clip.get('duration') or 0):.1f}",
        "source": "choix de la production" if clip.get("source") == "pick" else "sélection automatique",
        "score": f"{float(clip.get('score') or 0):.2f}",
        "title": str(clip.get("title") or ""),
        "reason": str(clip.get("reason") or ""),
        "text": str(clip.get("text") or ""),
        "video": href(str(video["key"])) if video else "",
        "video_size": f"{video.get('width')}x{video.get('height')}" if video else "",
        "poster": href(cover) if cover else "",
        "thumbs": [href(k) for k in thumbs],
        "words": shown,
        "suspects": sum(1 for w in shown if w["flags"]),
        "scores": _scores(clip.get("score_parts") or {}),
        "platforms": _platform_texts(clip.get("metadata") or {}),
        "files": files,
    }


def build_review_html(
    manifest: Mapping[str, Any],
    *,
    thumbnails: Mapping[str, list[str]],
    page_key: str | None = None,
    words: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> bytes:
    """The review page for a manifest (as `publish.manifest.build_manifest` makes it), UTF-8 HTML.

    `thumbnails` maps a clip id to its thumbnail keys; `page_key` is where the page will be stored
    (default: the review folder's depth, `store.keys.review_depth_key`). Links are relative to it.
    `words` maps a clip id to its words, each {"start", "end" (seconds in the episode), "text",
    "probability", "flags" (why the word is suspect; empty: it is not)}; a clip without words shows
    its text. The same arguments give the same bytes (no date, no random id).
    """
    ep = manifest.get("episode", {})
    prefix = _prefix(manifest)
    page = page_key or review_depth_key(prefix)
    linked: set[str] = set()

    def href(key: str) -> str:
        linked.add(key)
        return relative_href(page, key)

    episode_files = [{"href": href(manifest_key(prefix)), "label": "Manifeste (manifest.json)"}]
    source = manifest.get("source") or {}
    if source.get("key"):
        episode_files.append({"href": href(str(source["key"])), "label": "Rushes (master)"})
    youtube_master = manifest.get("youtube_master") or {}
    if isinstance(youtube_master, Mapping) and youtube_master.get("key"):
        episode_files.append({"href": href(str(youtube_master["key"])), "label": "Master YouTube (16:9)"})
    for fmt, key in (manifest.get("transcript") or {}).items():
        if isinstance(key, str) and "/" in key:
            episode_files.append({"href": href(key), "label": f"Transcription ({fmt})"})
    youtube = (manifest.get("metadata") or {}).get("youtube")
    clips = [
        _clip(page, c, thumbnails.get(str(c.get("id", "")), []), (words or {}).get(str(c.get("id", "")), []), linked)
        for c in manifest.get("clips") or []
    ]
    others = sorted(
        str(o["key"]) for o in manifest.get("objects") or [] if str(o["key"]) not in linked and str(o["key"]) != page
    )
    context = {
        "title": f"{ep.get('series', '')} · {ep.get('id', '')} · {ep.get('title', '')}",
        "episode": {
            "id": str(ep.get("id", "")),
            "series": str(ep.get("series", "")),
            "title": str(ep.get("title", "")),
            "who": " · ".join(str(ep[k]) for k in ("guest", "organisation", "cause") if ep.get(k)),
        },
        "generated_at": str(manifest.get("generated_at") or ""),
        "generator": str(manifest.get("generator") or ""),
        "episode_files": episode_files,
        "youtube": _platform_texts({"youtube": youtube}) if isinstance(youtube, Mapping) else [],
        "clips": clips,
        "others": [{"href": relative_href(page, k), "label": k} for k in others],
    }
    return _environment().get_template(TEMPLATE).render(context).encode("utf-8")


def signed_copy(page: bytes, page_key: str, sign: Callable[[str], str], *, expires_at: str) -> bytes:
    """`page` (stored at `page_key`) with every relative link replaced by `sign(key)` (a presigned
    URL of the key it points at), marked with the page it copies and when its links expire (see
    `signed_source`). Links that leave the store's root, and in-page anchors, are left as they are."""
    folder = posixpath.dirname(page_key)

    def absolute(match: re.Match[str]) -> str:
        key = posixpath.normpath(posixpath.join(folder, unquote(html.unescape(match.group(2)))))
        if key.startswith("../") or key in ("..", "."):
            return match.group(0)
        return match.group(1) + html.escape(sign(key), quote=True) + match.group(3)

    text = _LINK_ATTR.sub(absolute, page.decode("utf-8"))
    marker = (
        f'<meta name="{SIGNED_META}" data-source="{html.escape(page_key, quote=True)}" '
        f'data-expires="{html.escape(expires_at, quote=True)}">'
    )
    return text.replace("<head>", "<head>\n" + marker, 1).encode("utf-8")


def signed_source(copy: bytes) -> tuple[str, str] | None:
    """(the page key it copies, when its links expire) of a `signed_copy`, None for anything else."""
    found = _SIGNED.search(copy[:4096].decode("utf-8", errors="replace"))
    return (html.unescape(found.group(1)), html.unescape(found.group(2))) if found else None
