from __future__ import annotations

import html
import posixpath
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from touktouk.clips.scoring import LABELS, WEIGHTS
from touktouk.platforms import PLATFORMS
from touktouk.store.keys import manifest_key, review_depth_key

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem 1.5rem;color:#1b1b2f}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin:0 0 .4rem}h3{font-size:1rem;margin:.8rem 0 .3rem}
.meta{color:#555}.clip{border:1px solid #ccd;border-radius:8px;padding:1rem;margin:1.2rem 0}
.strip{display:flex;gap:6px;overflow-x:auto;margin:.5rem 0}.strip img{height:140px;border-radius:4px;background:#eee}
blockquote{margin:.5rem 0;padding:.5rem .8rem;border-left:4px solid #ffd400;background:#fafaf2}
table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;border-bottom:1px solid #eee}
td.num{text-align:right;font-variant-numeric:tabular-nums}.bar{display:inline-block;height:.7em;background:#4a7}
.neg{background:#c44}.reason{font-style:italic}.platform{margin:.4rem 0 .8rem}
pre{white-space:pre-wrap;font:inherit;background:#f6f6f8;padding:.4rem .6rem;border-radius:4px;margin:.2rem 0}
ul{margin:.2rem 0;padding-left:1.2rem}
"""


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


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _time(seconds: Any) -> str:
    s = float(seconds or 0)
    m, sec = divmod(s, 60)
    return f"{int(m)}:{sec:04.1f}"


def _link(page: str, key: str, label: str) -> str:
    return f'<a href="{_e(relative_href(page, key))}">{_e(label)}</a>'


def _prefix(manifest: Mapping[str, Any]) -> str:
    ep = manifest["episode"]
    return f"{ep['series_slug']}/s{int(ep['season']):02d}/e{int(ep['number']):02d}-{ep['slug']}"


def _scores(parts: Mapping[str, Any]) -> str:
    if not parts:
        return "<p class=meta>No score breakdown.</p>"
    rows = []
    for name, value in parts.items():
        v = float(value) + 0.0  # no « -0.000 »
        weight = WEIGHTS.get(name)
        share = f"{v / weight:.0%}" if weight else ""
        width = min(100.0, abs(v) * 400)  # 0.25 fills the bar
        bar = f'<span class="bar{" neg" if v < 0 else ""}" style="width:{width:.0f}px"></span>'
        label = LABELS.get(name, name)
        rows.append(
            f"<tr><td>{_e(label)}</td><td class=num>{v:+.3f}</td>"
            f"<td class=num>{_e(f'/ {weight:.2f}') if weight else ''}</td><td class=num>{share}</td><td>{bar}</td></tr>"
        )
    total = sum(float(v) for v in parts.values())
    return (
        "<table><tr><th>component</th><th>points</th><th>max</th><th>share</th><th></th></tr>"
        + "".join(rows)
        + f"<tr><th>score</th><th class=num>{total:.3f}</th><th></th><th></th><th></th></tr></table>"
    )


def _platform_metadata(metadata: Mapping[str, Any]) -> str:
    out = []
    for pid, meta in metadata.items():
        if not isinstance(meta, Mapping):
            continue
        label = PLATFORMS[pid].label if pid in PLATFORMS else pid
        parts = [f"<h3>{_e(label)}</h3>"]
        if meta.get("title"):
            parts.append(f"<div><b>Titre&nbsp;:</b> {_e(meta['title'])}</div>")
        if meta.get("text"):
            parts.append(f"<pre>{_e(meta['text'])}</pre>")
        if meta.get("hashtags"):
            parts.append(f"<div><b>Hashtags&nbsp;:</b> {_e(' '.join(str(h) for h in meta['hashtags']))}</div>")
        if meta.get("tags"):
            parts.append(f"<div><b>Tags&nbsp;:</b> {_e(', '.join(str(t) for t in meta['tags']))}</div>")
        out.append('<div class="platform">' + "".join(parts) + "</div>")
    return "".join(out)


def _clip(page: str, clip: Mapping[str, Any], thumbs: Sequence[str], linked: set[str]) -> str:
    cid = str(clip.get("id", ""))
    head = (
        f'<h2 id="{_e(cid)}">{_e(cid)} · {_time(clip.get("start"))}–{_time(clip.get("end"))} '
        f"({float(clip.get('duration') or 0):.1f} s) · {_e(clip.get('source', ''))} · "
        f"score {float(clip.get('score') or 0):.2f}</h2>"
    )
    parts = [head]
    if clip.get("title"):
        parts.append(f"<div><b>Titre&nbsp;:</b> {_e(clip['title'])}</div>")
    parts.append(f'<p class="reason">{_e(clip.get("reason", ""))}</p>')
    if thumbs:
        imgs = "".join(
            f'<a href="{_e(relative_href(page, k))}"><img src="{_e(relative_href(page, k))}" '
            f'alt="{_e(cid)} image {n}" loading="lazy"></a>'
            for n, k in enumerate(thumbs, 1)
        )
        parts.append(f'<div class="strip">{imgs}</div>')
        linked.update(thumbs)
    parts.append(f"<h3>Caption text</h3><blockquote>{_e(clip.get('text', ''))}</blockquote>")
    parts.append("<h3>Score breakdown</h3>" + _scores(clip.get("score_parts") or {}))
    files = []
    for out in clip.get("outputs") or []:
        key = str(out["key"])
        pid = str(out.get("platform", ""))
        label = PLATFORMS[pid].label if pid in PLATFORMS else pid
        size = f"{out.get('width')}x{out.get('height')}"
        files.append(f"<li>{_link(page, key, f'{label}: {size} video')}</li>")
        linked.add(key)
    for fmt, key in (clip.get("captions") or {}).items():
        files.append(f"<li>{_link(page, str(key), f'Captions ({fmt})')}</li>")
        linked.add(str(key))
    if clip.get("metadata_key"):
        files.append(f"<li>{_link(page, str(clip['metadata_key']), 'Platform metadata (JSON)')}</li>")
        linked.add(str(clip["metadata_key"]))
    parts.append("<h3>Files</h3><ul>" + "".join(dict.fromkeys(files)) + "</ul>")
    meta = clip.get("metadata") or {}
    if meta:
        parts.append("<h3>Platform texts</h3>" + _platform_metadata(meta))
    return '<section class="clip">' + "".join(parts) + "</section>"


def build_review_html(
    manifest: Mapping[str, Any], *, thumbnails: Mapping[str, list[str]], page_key: str | None = None
) -> bytes:
    """The review page for a manifest (as `publish.manifest.build_manifest` makes it), UTF-8 HTML.

    `thumbnails` maps a clip id to its thumbnail keys; `page_key` is where the page will be stored
    (default: the review folder's depth, `store.keys.review_depth_key`). Links are relative to it.
    """
    ep = manifest.get("episode", {})
    prefix = _prefix(manifest)
    page = page_key or review_depth_key(prefix)
    linked: set[str] = set()
    title = f"{ep.get('series', '')} · {ep.get('id', '')} · {ep.get('title', '')}"
    body = [f"<h1>{_e(ep.get('title', ''))}</h1>"]
    who = " · ".join(_e(ep[k]) for k in ("guest", "organisation", "cause") if ep.get(k))
    body.append(f'<p class="meta">{_e(ep.get("series", ""))} · {_e(ep.get("id", ""))}{" · " + who if who else ""}</p>')
    when = f" {_e(manifest['generated_at'])}" if manifest.get("generated_at") else ""
    body.append(f'<p class="meta">Generated{when} by {_e(manifest.get("generator", ""))}</p>')
    episode_files = [f"<li>{_link(page, manifest_key(prefix), 'Manifest (manifest.json)')}</li>"]
    source = manifest.get("source") or {}
    if source.get("key"):
        episode_files.append(f"<li>{_link(page, str(source['key']), 'Master footage')}</li>")
        linked.add(str(source["key"]))
    for fmt, key in (manifest.get("transcript") or {}).items():
        if isinstance(key, str) and "/" in key:
            episode_files.append(f"<li>{_link(page, key, f'Transcript ({fmt})')}</li>")
            linked.add(key)
    body.append("<h2>Episode</h2><ul>" + "".join(episode_files) + "</ul>")
    youtube = (manifest.get("metadata") or {}).get("youtube")
    if isinstance(youtube, Mapping):
        body.append(_platform_metadata({"youtube": youtube}))
    clips = manifest.get("clips") or []
    if clips:
        body.append(
            "<p>" + " · ".join(f'<a href="#{_e(c.get("id", ""))}">{_e(c.get("id", ""))}</a>' for c in clips) + "</p>"
        )
    for clip in clips:
        body.append(_clip(page, clip, thumbnails.get(str(clip.get("id", "")), []), linked))
    others = sorted(
        str(o["key"]) for o in manifest.get("objects") or [] if str(o["key"]) not in linked and str(o["key"]) != page
    )
    if others:
        body.append("<h2>Other files</h2><ul>" + "".join(f"<li>{_link(page, k, k)}</li>" for k in others) + "</ul>")
    doc = (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )
    return doc.encode("utf-8")
