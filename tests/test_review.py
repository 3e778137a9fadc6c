"""The review page: a static HTML file whose every link is a relative path to a key in the manifest."""

from __future__ import annotations

import html
import json
import posixpath
import re
import shutil
import subprocess
import tomllib
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
from touktouk.orchestration.review import ReviewInput, to_decisions
from touktouk.platforms import PLATFORMS
from touktouk.publish.manifest import build_manifest
from touktouk.publish.review import (
    build_review_html,
    main_video,
    relative_href,
    signed_copy,
    signed_source,
    thumbnail_times,
)
from touktouk.review.decisions import Decisions
from touktouk.store.base import StoredObject
from touktouk.store.gc import referenced_keys
from touktouk.store.keys import (
    clip_cover_key,
    clip_file_names,
    clip_folder,
    clip_metadata_key,
    episode_prefix,
    is_pointer,
    manifest_key,
    master_key,
    review_depth_key,
    review_key,
    review_pointer_key,
    transcript_keys,
)
from touktouk.types import Segment, Transcript, Word

SHA = "0" * 64
TRANSCRIPT = {"json": SHA, "srt": "1" * 64, "vtt": "2" * 64}
PAGE_KEY = review_key("touktouk/s01/e03-diversidays", "3" * 64)  # where the page is stored
HOSTILE = "<script>alert('x')</script> & \"quotes\" 'single' </textarea><img src=x onerror=alert(1)>"
BROWSER_DIR = Path(__file__).parent / "browser"
CHROMIUM = Path("/usr/bin/chromium")


def open_in_chromium(spec: dict[str, Any], timeout: float = 240) -> dict[str, Any]:
    """Run tests/browser/review_page.mjs on a page (see its header for `spec` and the report)."""
    node = shutil.which("node")
    assert node and CHROMIUM.exists(), "node and Debian's chromium are needed: run 'make setup'"
    assert (BROWSER_DIR / "node_modules" / "playwright-core").is_dir(), "run 'make setup' (npm ci in tests/browser)"
    done = subprocess.run(
        [node, "review_page.mjs", json.dumps(spec)], cwd=BROWSER_DIR, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


class Page(HTMLParser):
    """Collects links, sources (src and poster), text, every tag and the script of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.words: list[dict[str, str | None]] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in.append(tag)
        self.attrs += attrs
        found = dict(attrs)
        for name, value in attrs:
            if name == "href" and value is not None and tag != "link":  # the icon link is checked apart
                self.hrefs.append(value)
            if name in ("src", "poster") and value is not None:
                self.srcs.append(value)
        if tag == "span" and "data-t" in found:
            self.words.append({**found, "text": ""})

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            while self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "script":
            self.scripts.append(data)
            return
        if self._in and self._in[-1] == "style":
            return
        self.text.append(data)
        if self._in and self._in[-1] == "span" and self.words and not self.words[-1]["text"]:
            self.words[-1]["text"] = data


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
            [(1080, 1920), (720, 1280), (1080, 1080)], ["srt", "vtt", "ass"], [f"thumb{i:02d}" for i in (1, 2, 3, 4)]
        )
        folder = clip_folder(prefix, plan.id, {n: SHA for n in names.values()})
        video, small, square = f"{folder}/1080x1920.mp4", f"{folder}/720x1280.mp4", f"{folder}/1080x1080.mp4"
        captions = {fmt: f"{folder}/captions.{fmt}" for fmt in ("srt", "vtt", "ass")}
        meta_key = clip_metadata_key(prefix, plan.id, SHA)
        cover = clip_cover_key(prefix, plan.id, SHA)
        thumbs = [f"{folder}/thumbs/{i:02d}.jpg" for i in (1, 2, 3, 4)]
        fields = {"series": series.series, "guest": guest, "organisation": "Diversidays", "hook": plan.text[:60]}
        metadata = {
            pid: describe(PLATFORMS[pid], fields, ["#ESS"], DEFAULT_TEMPLATES[pid])
            for pid in ("youtube_shorts", "tiktok", "x")
        }
        keys += [video, small, square, *captions.values(), meta_key, cover, *thumbs]
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
                    {"platform": "linkedin", "key": square, "width": 1080, "height": 1080, "duration": 20.0},
                    {"platform": "x", "key": small, "width": 720, "height": 1280, "duration": 20.0},
                    {"platform": "youtube_shorts", "key": video, "width": 1080, "height": 1920, "duration": 20.0},
                    {"platform": "tiktok", "key": video, "width": 1080, "height": 1920, "duration": 20.0},
                ],
                "captions": captions,
                "metadata_key": meta_key,
                "metadata": metadata,
                "cover": cover,
                "thumbnails": thumbs,
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
    return {c["id"]: list(c["thumbnails"]) for c in data["clips"]}


def words_of(data: dict[str, Any], text: str = "Machad") -> dict[str, list[dict[str, Any]]]:
    """Words for the first clip (times in the episode): the third one suspect; the second clip has none."""
    clip = data["clips"][0]
    start = float(clip["start"])
    words = []
    for i, token in enumerate(["Bonjour", "Anthony.", text, "merci"]):
        flags = ["probabilité Whisper 0.21 < 0.5", "absent du vocabulaire"] if i == 2 else []
        words.append(
            {"start": start + 0.5 + i, "end": start + 0.9 + i, "text": token, "probability": 0.9, "flags": flags}
        )
    return {clip["id"]: words}


@pytest.fixture(scope="module")
def sample() -> tuple[dict[str, Any], bytes, Page]:
    data = sample_manifest()
    page = build_review_html(data, thumbnails=thumbs_of(data), words=words_of(data))
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
    clip_ids = [c["id"] for c in data["clips"]]
    assert anchors[: len(clip_ids) + 1] == ["decisions", *clip_ids]  # the legend, then the table of contents
    assert set(anchors) <= set(ids) and set(clip_ids) <= set(ids)


def test_page_is_self_contained(sample: tuple[dict[str, Any], bytes, Page]) -> None:
    """Inline CSS and one inline script: nothing fetched, nothing external (the CSP says so too)."""
    _, raw, page = sample
    assert raw.startswith(b"<!DOCTYPE html>")
    assert page.tags.count("script") == 1 and "iframe" not in page.tags
    assert re.findall(rb"<link [^>]*>", raw) == [b'<link rel="icon" href="data:,">'], "no favicon request"
    assert re.findall(rb"<script[^>]*>", raw) == [b"<script>"], "inline, no src"
    assert not any(name.startswith("on") for name, _ in page.attrs)
    for url in page.hrefs + page.srcs:
        assert not urlsplit(url).scheme and not url.startswith("//"), url
    assert b"http://" not in raw and b"https://" not in raw and b"@import" not in raw and b"url(" not in raw
    (script,) = page.scripts
    for call in ("fetch(", "XMLHttpRequest", "import(", "WebSocket", "sendBeacon", "eval(", "innerHTML"):
        assert call not in script, call
    # Store links live only in href, src and poster attributes, which `signed_copy` presigns.
    assert not re.search(r"(href|src|poster)=", script)
    assert "default-src 'none'" in raw.decode()


def test_page_shows_each_clip_with_scores_reason_words_and_thumbnails(
    sample: tuple[dict[str, Any], bytes, Page],
) -> None:
    data, _, page = sample
    text = " ".join(page.text)
    for clip in data["clips"]:
        assert clip["reason"] in text
        assert f"{clip['score']:.2f}" in text
        for thumb in clip["thumbnails"]:
            assert relative_href(PAGE_KEY, thumb) in page.srcs
    # The second clip has no words: its text is shown instead.
    assert " ".join(data["clips"][1]["text"].split()) in " ".join(text.split())
    for label in ("Whole sentences", "Episode vocabulary", "Question → answer", "Fillers (euh, ben, voilà…)"):
        assert label in text
    assert "TikTok" in text and "X" in text and "#ESS" in text
    assert "Copier pour Prefect (JSON)" in text and "Copier pour le fichier d'épisode (TOML)" in text


def test_words_seek_from_the_clip_start_and_suspects_say_why(sample: tuple[dict[str, Any], bytes, Page]) -> None:
    page = sample[2]
    assert [w["text"] for w in page.words] == ["Bonjour", "Anthony.", "Machad", "merci"]
    assert [w["data-t"] for w in page.words] == ["0.50", "1.50", "2.50", "3.50"], "seconds into the clip"
    suspect = [w for w in page.words if "suspect" in str(w["class"]).split()]
    assert [w["text"] for w in suspect] == ["Machad"]
    assert suspect[0]["title"] == "À vérifier : probabilité Whisper 0.21 < 0.5 ; absent du vocabulaire"
    assert all(w.get("title") is None for w in page.words if w not in suspect)
    assert "1 à vérifier" in " ".join(page.text)


def test_video_is_the_largest_portrait_output_with_the_cover_as_poster(
    sample: tuple[dict[str, Any], bytes, Page],
) -> None:
    data, raw, _ = sample
    videos = re.findall(rb"<video [^>]*>", raw)
    assert len(videos) == len(data["clips"])
    for tag, clip in zip(videos, data["clips"], strict=True):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag.decode()))
        assert resolve(PAGE_KEY, attrs["src"]).endswith("/1080x1920.mp4")
        assert resolve(PAGE_KEY, attrs["poster"]) == clip["cover"]
        assert attrs["preload"] == "metadata" and b" controls" in tag
    square = {"key": "a/1080x1080.mp4", "width": 1080, "height": 1080}
    wide = {"key": "a/1920x1080.mp4", "width": 1920, "height": 1080}
    assert main_video([square, wide]) == square, "no portrait output: the first"
    assert main_video([]) is None


@pytest.mark.parametrize("field", ["title", "guest"])
def test_hostile_text_is_escaped(field: str, sample: tuple[dict[str, Any], bytes, Page]) -> None:
    baseline = sample[2]
    data = sample_manifest(**{field: HOSTILE})
    for clip in data["clips"]:
        clip["text"] = HOSTILE
        clip["reason"] = HOSTILE
        clip["metadata"]["tiktok"]["text"] = HOSTILE
        clip["score_parts"][HOSTILE] = 0.1
    words = words_of(data, text=HOSTILE)
    for w in words[data["clips"][0]["id"]]:
        w["flags"] = [HOSTILE]
    page = build_review_html(data, thumbnails=thumbs_of(data), words=words)
    parsed = parse(page)
    for tag in ("script", "textarea", "img", "video", "input", "button"):
        assert parsed.tags.count(tag) == baseline.tags.count(tag), tag
    assert parsed.tags.count("img") == 4 * len(data["clips"])  # only the thumbnails
    assert not any(name.startswith("on") for name, _ in parsed.attrs)
    assert HOSTILE in "".join(parsed.text)  # shown as text, intact
    assert ("title", "À vérifier : " + HOSTILE) in parsed.attrs  # a suspect word's reasons, intact
    if field == "title":
        assert ("value", HOSTILE) in parsed.attrs  # the form's title inputs, pre-filled intact
    assert page.count(b"<script>") == 1 and b"<script>alert" not in page


def test_the_decisions_form_gives_json_for_prefect_and_toml_for_the_episode_file(
    tmp_path: Path, sample: tuple[dict[str, Any], bytes, Page]
) -> None:
    """The page's own script, run in Chromium: the JSON is a valid `ReviewInput`, the TOML a valid
    part of an episode file, both with the same decisions, whatever the characters typed."""
    data, raw, _ = sample
    first, second = (c["id"] for c in data["clips"])
    (tmp_path / "index.html").write_bytes(raw)
    title = 'Le « mot » juste \\ "cité"\t é\x7f'
    report = open_in_chromium(
        {
            "url": (tmp_path / "index.html").as_uri(),
            "mode": "form",
            "uncheck": [first],
            "titles": {second: title},
            "fixes": [["Tuk  Tuk", "ToukTouk"], ["Machad", ""], ['Jean "JC"', "Jean-Claude \\ Dus"]],
        }
    )
    answer = ReviewInput.model_validate(json.loads(report["json"]))
    assert [(c.id, c.publish, c.title) for c in answer.clips] == [
        (first, False, data["clips"][0]["title"]),
        (second, True, title.strip()),
    ]
    fixes = [("Tuk Tuk", "ToukTouk"), ('Jean "JC"', "Jean-Claude \\ Dus")]
    assert [(f.wrong, f.right) for f in answer.fixes] == fixes, "an incomplete row is left out"
    assert "1 correction(s) incomplète(s)" in report["status"]
    decided = Decisions.from_dict(to_decisions(answer, data))
    toml = tomllib.loads(report["toml"])
    assert set(toml) == {"drop", "titles", "fixes"}
    episode = EpisodeConfig.model_validate({"number": 3, "slug": "x", "title": "x", **toml})
    assert (episode.drop, episode.titles, episode.fixes) == (decided.drop, decided.titles, decided.fixes)
    assert episode.drop == (first,) and episode.titles == {second: title.strip()}

    # Nothing changed: every clip published, no [titles], no [[fixes]].
    untouched = open_in_chromium({"url": (tmp_path / "index.html").as_uri(), "mode": "form"})
    assert json.loads(untouched["json"]) == {
        "clips": [{"id": c["id"], "publish": True, "title": c["title"]} for c in data["clips"]],
        "fixes": [],
    }
    assert tomllib.loads(untouched["toml"]) == {"drop": []}


def test_signed_copy_presigns_every_store_link(sample: tuple[dict[str, Any], bytes, Page]) -> None:
    _, raw, page = sample

    def sign(key: str) -> str:
        return f"https://s3.example/bucket/{key}?X-Amz-Expires=60&X-Amz-Signature=5ig"

    copy = signed_copy(raw, PAGE_KEY, sign, expires_at="2030-01-01T00:00:00+00:00")
    signed = parse(copy)
    assert [h for h in signed.hrefs if h.startswith("#")] == [h for h in page.hrefs if h.startswith("#")]
    expected = [sign(resolve(PAGE_KEY, h)) for h in page.hrefs if not h.startswith("#")]
    assert [h for h in signed.hrefs if not h.startswith("#")] == expected
    assert signed.srcs == [sign(resolve(PAGE_KEY, s)) for s in page.srcs]
    assert b"&amp;X-Amz-Signature" in copy and b"&X-Amz" not in copy  # escaped in the attributes
    assert signed.scripts == page.scripts
    assert [t for t in signed.text if t.strip()] == [t for t in page.text if t.strip()]
    assert signed_source(copy) == (PAGE_KEY, "2030-01-01T00:00:00+00:00")
    assert signed_source(raw) is None
    assert html.unescape(copy.decode()).count("https://s3.example/") == len(expected) + len(signed.srcs)

    # Text that looks like a link attribute is escaped on the page, so never signed.
    data = sample_manifest(title=' src="../../manifest.json" poster="x" href="y"')
    hostile = build_review_html(data, thumbnails=thumbs_of(data))
    links = parse(hostile)
    count = len([h for h in links.hrefs if not h.startswith("#")]) + len(links.srcs)
    assert signed_copy(hostile, PAGE_KEY, sign, expires_at="x").count(b"https://s3.example/") == count


def test_the_signed_review_pages_are_pointers_gc_keeps() -> None:
    prefix = "touktouk/s01/e03-diversidays"
    assert review_pointer_key(prefix) == f"{prefix}/review.html" and is_pointer(review_pointer_key(prefix))
    proposal = review_pointer_key(prefix, proposal=True)
    assert proposal == f"{prefix}/proposal.html" and is_pointer(proposal)
    assert review_pointer_key(prefix) in referenced_keys(manifest_key(prefix), {"objects": []})
    assert proposal in referenced_keys(f"{prefix}/proposal.json", {"objects": []})
    assert proposal not in referenced_keys(manifest_key(prefix), {"objects": []})


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
        page = build_review_html(
            data, thumbnails=thumbs_of(data), page_key=review_key(prefix, other), words=words_of(data)
        )
        assert page == raw, "the same bytes: no date, no random id"


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


def test_the_prefect_form_lists_the_words_to_check_with_their_timecodes() -> None:
    from touktouk.orchestration.review import MAX_SUSPECTS, describe
    from touktouk.publish.commit import suspect_words
    from touktouk.types import ClipPlan, Segment, Transcript, Word

    words = (
        Word(61.0, 61.4, "Bonjour", 0.95),
        Word(61.5, 61.9, "Machad", 0.21),
        Word(62.0, 62.5, "Awa", 0.3),
        Word(90.0, 90.4, "dehors", 0.1),  # outside the clip: not listed
    )
    transcript = Transcript("fr", 95.0, (Segment(61.0, 90.4, "Bonjour Machad Awa dehors", words),))
    plan = ClipPlan("c01m01.0s", 61.0, 70.0, "Bonjour Machad Awa")
    found = suspect_words(transcript, [plan], ["Awa"])
    assert [(at, text) for at, text, _ in found] == [(61.5, "Machad")], found
    assert found[0][2] and "probabilité" in " ".join(found[0][2])
    proposal = {"episode": {"id": "s01e01-x"}, "clips": [{"id": plan.id, "start": 61.0, "end": 70.0}]}
    text = describe(proposal, "https://example.org/review.html", suspects=found)
    assert "#### Words to check" in text and "| 1:01.5 | Machad |" in text
    many = [(float(i), f"mot{i}", ["x"]) for i in range(MAX_SUSPECTS + 5)]
    assert "…and 5 more on the review page." in describe(proposal, "", suspects=many)
    assert "Words to check" not in describe(proposal, "")
