"""The review page: a static HTML file whose every link is a relative path to a key in the manifest."""

from __future__ import annotations

import posixpath
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from touktouk.clips.select import choose_clips
from touktouk.clips.texts import DEFAULT_TEMPLATES, describe
from touktouk.config import EpisodeConfig, SeriesConfig
from touktouk.platforms import PLATFORMS
from touktouk.publish.manifest import build_manifest
from touktouk.publish.review import build_review_html, relative_href, thumbnail_times
from touktouk.store.base import StoredObject
from touktouk.store.keys import (
    clip_file_names,
    clip_folder,
    clip_metadata_key,
    episode_prefix,
    manifest_key,
    master_key,
    review_depth_key,
    review_key,
    transcript_keys,
)
from touktouk.types import Segment, Transcript, Word

SHA = "0" * 64
TRANSCRIPT = {"json": SHA, "srt": "1" * 64, "vtt": "2" * 64}
PAGE_KEY = review_key("touktouk/s01/e03-diversidays", "3" * 64)  # where the page is stored
HOSTILE = "<script>alert('x')</script> & \"quotes\" 'single' </textarea><img src=x onerror=alert(1)>"


class Page(HTMLParser):
    """Collects links, images, text and every tag of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        for name, value in attrs:
            if name == "href" and value is not None:
                self.hrefs.append(value)
            if name == "src" and value is not None:
                self.srcs.append(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: bytes) -> Page:
    parser = Page()
    parser.feed(page.decode("utf-8"))
    parser.close()
    return parser


def resolve(page_key: str, href: str) -> str:
    """The store key a relative link points to, resolved as a browser does from file:///store/<page_key>."""
    url = urljoin("file:///store/" + quote(page_key), href)
    parts = urlsplit(url)
    assert parts.scheme == "file" and not parts.netloc, href
    assert parts.path.startswith("/store/"), href  # never climbs out of the store
    return unquote(parts.path.removeprefix("/store/"))


def sample_manifest(title: str = "Diversidays, sans filtre", guest: str = "Anthony Babkine") -> dict[str, Any]:
    series = SeriesConfig()
    episode = EpisodeConfig(
        number=3, slug="diversidays", title=title, guest=guest, organisation="Diversidays", cause="l'égalité"
    )
    prefix = episode_prefix(series, episode)
    texts = ["Bonjour Anthony.", "Quelles ont été les étapes clés ?"] + ["Tout d'abord, merci pour la parole."] * 12
    t, segments = 0.0, []
    for text in texts:
        words = []
        for token in text.split():
            words.append(Word(t, t + 0.35, token))
            t += 0.4
        segments.append(Segment(words[0].start, words[-1].end, text, tuple(words)))
    transcript = Transcript("fr", t, tuple(segments))
    plans = choose_clips(transcript, [], duration=t, count=2, min_seconds=10.0, max_seconds=30.0)
    keys: list[str] = [master_key(prefix, ".mp4", SHA), *transcript_keys(prefix, TRANSCRIPT).values()]
    entries = []
    for plan in plans:
        names = clip_file_names(
            [(1080, 1920), (720, 1280)], ["srt", "vtt", "ass"], [f"thumb{i:02d}" for i in (1, 2, 3, 4)]
        )
        folder = clip_folder(prefix, plan.id, {n: SHA for n in names.values()})
        video, small = f"{folder}/1080x1920.mp4", f"{folder}/720x1280.mp4"
        captions = {fmt: f"{folder}/captions.{fmt}" for fmt in ("srt", "vtt", "ass")}
        meta_key = clip_metadata_key(prefix, plan.id, SHA)
        fields = {"series": series.series, "guest": guest, "organisation": "Diversidays", "hook": plan.text[:60]}
        metadata = {
            pid: describe(PLATFORMS[pid], fields, ["#ESS"], DEFAULT_TEMPLATES[pid])
            for pid in ("youtube_shorts", "tiktok", "x")
        }
        keys += [video, small, *captions.values(), meta_key, *(f"{folder}/thumbs/{i:02d}.jpg" for i in (1, 2, 3, 4))]
        entries.append(
            {
                "id": plan.id,
                "start": plan.start,
                "end": plan.end,
                "duration": plan.duration,
                "source": plan.source,
                "title": title,
                "text": plan.text,
                "score": plan.score,
                "score_parts": plan.score_parts,
                "reason": plan.reason,
                "outputs": [
                    {"platform": "youtube_shorts", "key": video, "width": 1080, "height": 1920, "duration": 20.0},
                    {"platform": "tiktok", "key": video, "width": 1080, "height": 1920, "duration": 20.0},
                    {"platform": "x", "key": small, "width": 720, "height": 1280, "duration": 20.0},
                ],
                "captions": captions,
                "metadata_key": meta_key,
                "metadata": metadata,
            }
        )
    objects = [StoredObject(k, 10, "0" * 64, "application/octet-stream") for k in keys]
    return build_manifest(
        series=series,
        episode=episode,
        source={"key": keys[0], "duration": t},
        transcript={**transcript_keys(prefix, TRANSCRIPT), "words": len(transcript.words)},
        clips=entries,
        metadata={"youtube": {"title": title, "text": "Épisode complet.\n\n#ESS", "hashtags": ["#ESS"], "tags": []}},
        objects=objects,
    )


def thumbs_of(data: dict[str, Any]) -> dict[str, list[str]]:
    folders = {c["id"]: c["outputs"][0]["key"].rsplit("/", 1)[0] for c in data["clips"]}
    return {cid: [f"{folder}/thumbs/{i:02d}.jpg" for i in (1, 2, 3, 4)] for cid, folder in folders.items()}


@pytest.fixture(scope="module")
def sample() -> tuple[dict[str, Any], bytes, Page]:
    data = sample_manifest()
    page = build_review_html(data, thumbnails=thumbs_of(data))
    return data, page, parse(page)


def test_every_link_resolves_to_a_key_in_the_manifest(sample: tuple[dict[str, Any], bytes, Page]) -> None:
    data, _, page = sample
    page_key = PAGE_KEY
    keys = {o["key"] for o in data["objects"]} | {"touktouk/s01/e03-diversidays/manifest.json"}
    targets = [resolve(page_key, h) for h in page.hrefs if not h.startswith("#")]
    targets += [resolve(page_key, s) for s in page.srcs]
    assert targets and set(targets) <= keys
    # Every output of the manifest is linked from the page.
    assert keys <= set(targets)


def test_in_page_anchors_point_at_clip_sections(sample: tuple[dict[str, Any], bytes, Page]) -> None:
    data, _, page = sample
    anchors = [h[1:] for h in page.hrefs if h.startswith("#")]
    ids = [v for name, v in page.attrs if name == "id"]
    assert anchors == [c["id"] for c in data["clips"]] and set(anchors) <= set(ids)


def test_page_is_static_and_fetches_nothing(sample: tuple[dict[str, Any], bytes, Page]) -> None:
    _, raw, page = sample
    assert raw.startswith(b"<!DOCTYPE html>")
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert not any(name.startswith("on") for name, _ in page.attrs)
    for url in page.hrefs + page.srcs:
        assert not urlsplit(url).scheme and not url.startswith("//"), url
    assert b"http://" not in raw and b"https://" not in raw and b"@import" not in raw and b"url(" not in raw


def test_page_shows_each_clip_with_scores_reason_captions_and_thumbnails(
    sample: tuple[dict[str, Any], bytes, Page],
) -> None:
    data, _, page = sample
    text = " ".join(page.text)
    for clip in data["clips"]:
        assert clip["reason"] in text
        assert " ".join(clip["text"].split()) in " ".join(text.split())
        assert f"{clip['score']:.2f}" in text
        for thumb in thumbs_of(data)[clip["id"]]:
            assert relative_href(PAGE_KEY, thumb) in page.srcs
    for label in ("Whole sentences", "Episode vocabulary", "Question → answer", "Fillers (euh, ben, voilà…)"):
        assert label in text
    assert "TikTok" in text and "X" in text and "#ESS" in text


@pytest.mark.parametrize("field", ["title", "guest"])
def test_hostile_text_is_escaped(field: str) -> None:
    data = sample_manifest(**{field: HOSTILE})
    for clip in data["clips"]:
        clip["text"] = HOSTILE
        clip["reason"] = HOSTILE
        clip["metadata"]["tiktok"]["text"] = HOSTILE
        clip["score_parts"][HOSTILE] = 0.1
    page = build_review_html(data, thumbnails=thumbs_of(data))
    parsed = parse(page)
    assert parsed.tags.count("script") == 0 and parsed.tags.count("textarea") == 0
    assert parsed.tags.count("img") == 4 * len(data["clips"])  # only the thumbnails
    assert not any(name.startswith("on") for name, _ in parsed.attrs)
    assert HOSTILE in "".join(parsed.text)  # shown as text, intact
    assert b"<script>" not in page


def test_relative_href_climbs_only_as_needed() -> None:
    page = "serie/s01/e01-ep/review.html"
    assert relative_href(page, "serie/s01/e01-ep/manifest.json") == "manifest.json"
    assert relative_href(page, "serie/s01/e01-ep/clips/c01/1080x1920.mp4") == "clips/c01/1080x1920.mp4"
    assert relative_href(page, "serie/s01/e02-autre/manifest.json") == "../e02-autre/manifest.json"
    assert relative_href(page, "serie/s01/e01-ep/clips/c 01/é.jpg") == "clips/c%2001/%C3%A9.jpg"


_segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyzé #?&%'\"<>:", min_size=1, max_size=12).filter(
    lambda s: s.strip(" ") == s and s not in (".", "..")
)


@settings(max_examples=80, deadline=None)
@given(page=st.lists(_segment, min_size=1, max_size=4), target=st.lists(_segment, min_size=1, max_size=4))
def test_relative_hrefs_resolve_back_to_their_key(page: list[str], target: list[str]) -> None:
    page_key = "/".join([*page, "review.html"])
    key = "/".join(target)
    assume(not (page_key + "/").startswith(key + "/"))  # an object key is never one of the page's folders
    href = relative_href(page_key, key)
    assert not urlsplit(href).scheme and "#" not in href and "?" not in href
    assert resolve(page_key, href) == posixpath.normpath(key)


def test_thumbnail_times_spread_over_the_clip() -> None:
    assert thumbnail_times(10.0, 20.0, 4) == [11.25, 13.75, 16.25, 18.75]
    assert thumbnail_times(0.0, 1.0, 1) == [0.5]
    assert thumbnail_times(5.0, 5.0, 3) == [] and thumbnail_times(0.0, 9.0, 0) == []


@given(
    start=st.floats(0, 10_000, allow_nan=False),
    length=st.floats(0.01, 600, allow_nan=False),
    n=st.integers(1, 12),
)
def test_thumbnail_times_are_inside_and_increasing(start: float, length: float, n: int) -> None:
    times = thumbnail_times(start, start + length, n)
    assert len(times) == n
    assert all(start <= t <= start + length for t in times)
    assert times == sorted(times)


def test_review_page_links_are_the_same_from_every_version_folder(sample: tuple[dict[str, Any], bytes, Page]) -> None:
    # The page is built before its own name (its SHA-256) is known: at the review folder's depth.
    data, raw, _ = sample
    prefix = "touktouk/s01/e03-diversidays"
    assert review_depth_key(prefix).count("/") == PAGE_KEY.count("/") == manifest_key(prefix).count("/") + 2
    for other in ("4" * 64, "5" * 64):
        assert build_review_html(data, thumbnails=thumbs_of(data), page_key=review_key(prefix, other)) == raw


def test_page_opens_from_a_folder_store(tmp_path: Path, sample: tuple[dict[str, Any], bytes, Page]) -> None:
    data, raw, page = sample
    page_key = PAGE_KEY
    for o in data["objects"]:
        (tmp_path / o["key"]).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / o["key"]).write_bytes(b"x")
    (tmp_path / page_key).parent.mkdir(parents=True)
    (tmp_path / page_key).write_bytes(raw)
    (tmp_path / "touktouk/s01/e03-diversidays/manifest.json").write_bytes(b"{}")
    base = (tmp_path / page_key).as_uri()
    for href in [h for h in page.hrefs if not h.startswith("#")] + page.srcs:
        assert Path(unquote(urlsplit(urljoin(base, href)).path)).is_file(), href
