"""The review page in headless Chromium (tests/browser/review_page.mjs: playwright-core driving
Debian's /usr/bin/chromium), on a small real episode: espeak-ng speech, real Whisper, real renders
(two picks, in 9:16), stored and published as the flow does (`store_rendered_clip`, the
cover, `describe_episode`, `publish_outputs`).

Opened from a folder store (file://) and from the presigned link producers get on S3 (SeaweedFS),
the page must load with every request answered (no 4xx/5xx, none failed), every video must reach
readyState >= 2, a click on a word must seek its clip's video there, and the decisions form must
give JSON that the Prefect form (`ReviewInput`) accepts and TOML that the episode file accepts,
with the same decisions. The content-named page opened through its own presigned link is the
control: its relative links reach private objects, which S3 refuses.
"""

from __future__ import annotations

import json
import logging
import secrets
import tomllib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline_helpers import write_episode, write_series
from s3server import S3Server
from test_review import open_in_chromium
from touktouk.config import EpisodeConfig
from touktouk.demo import make_demo_footage
from touktouk.orchestration.review import ReviewInput, to_decisions
from touktouk.pipeline.clips import render_clip_files, render_cover_file, store_rendered_clip
from touktouk.pipeline.inputs import load_inputs
from touktouk.pipeline.job import RenderJob
from touktouk.pipeline.master import store_footage
from touktouk.pipeline.metadata import describe_episode
from touktouk.pipeline.plans import plan_clips
from touktouk.pipeline.transcript import write_transcript
from touktouk.publish.commit import Inputs, RenderedClip, publish_outputs
from touktouk.publish.pointer import review_link
from touktouk.publish.review import signed_source
from touktouk.render.probe import MediaInfo, extract_audio, probe
from touktouk.review.decisions import Decisions
from touktouk.store.base import sha256_and_size
from touktouk.store.gc import find_garbage
from touktouk.store.keys import clip_cover_key, episode_prefix, review_pointer_key
from touktouk.store.local import LocalStore
from touktouk.store.url import open_store
from touktouk.transcribe.run import transcribe, vocabulary_prompt
from touktouk.types import Transcript

pytestmark = pytest.mark.slow
LOG = logging.getLogger("touktouk.test.review_browser")
# About 11 s of espeak-ng French; Whisper's base model mishears "ToukTouk" and the name.
SPEECH = (
    "Bonjour et bienvenue dans ToukTouk. Aujourd'hui, nous parlons de réemploi avec Awa Diallo. "
    "Pourquoi une ressourcerie ? Parce que chaque objet mérite une seconde vie."
)
PICKS = """
[[picks]]
start = 0.0
end = 5.2
title = "Bienvenue"

[[picks]]
start = 5.3
end = 10.6
title = "Une seconde vie"
"""
NEW_TITLE = 'Une « seconde » vie \\ "cité"'
FIX = ("tout le tout", "ToukTouk")


@dataclass
class Episode:
    inputs: Inputs  # for the folder store
    info: MediaInfo
    transcript: Transcript
    transcript_files: dict[str, Path]
    rendered: list[RenderedClip]
    covers: dict[str, Path]
    folder: Path  # the folder store it was published to

    @property
    def prefix(self) -> str:
        return episode_prefix(self.inputs.series, self.inputs.episode)


def publish(ep: Episode, inputs: Inputs, *, propose: bool = False) -> str:
    """What the flow does once the clips are rendered: store the footage, each clip's files and
    cover, describe, then the publish task (or the proposal)."""
    store = open_store(inputs.store_url)
    master = store_footage(inputs, LOG)
    job = RenderJob(
        store_url=inputs.store_url, endpoint_url=None, prefix=ep.prefix, episode_id=inputs.episode.episode_id,
        master=master, footage_hint=str(inputs.footage), info=ep.info, transcript=ep.transcript, series=inputs.series,
    )  # fmt: skip
    clips = []
    for rendered in ep.rendered:
        stored = store_rendered_clip(store, job, rendered, LOG)
        cover = ep.covers[rendered.plan.id]
        key = clip_cover_key(ep.prefix, rendered.plan.id, sha256_and_size(cover)[0])
        meta = {"episode": inputs.episode.episode_id, "clip": rendered.plan.id}
        stored.extras["cover"] = store.put_file(key, cover, "image/jpeg", meta, immutable=True)
        clips.append(stored)
    metadata = describe_episode(clips, inputs, ep.transcript, LOG)
    return publish_outputs(
        inputs, ep.info, ep.transcript, ep.transcript_files, clips, metadata, logger=LOG, master=master,
        proposal_inputs={"footage": str(inputs.footage)} if propose else None,
    )  # fmt: skip


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> Episode:
    tmp = tmp_path_factory.mktemp("review-browser")
    folder = tmp / "store"
    footage = make_demo_footage(tmp / "episode.mp4", text=SPEECH, width=320, height=240)
    series = write_series(tmp / "touktouk.toml", store=str(folder), auto_clips=0, platforms=("tiktok",))
    episode_file = write_episode(tmp / "episode.toml", slug="relecture", picks=PICKS, vocabulary=False)
    inputs = load_inputs(str(footage), str(episode_file), str(folder), str(series))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOUKTOUK_CACHE_DIR", str(tmp / "transcripts"))
        info = probe(inputs.footage)
        audio = extract_audio(inputs.footage, tmp / "audio.wav")
        transcript, _ = transcribe(audio, inputs.series.whisper, language="fr", prompt=vocabulary_prompt())
    work = tmp / "work"
    plans = plan_clips(transcript, inputs, info.duration, audio, LOG)
    assert len(plans) == 2, plans
    rendered = [render_clip_files(p, info, transcript, inputs.series, work) for p in plans]
    covers = {p.id: render_cover_file(p, info, transcript, inputs.series, work / f"cover-{p.id}.jpg") for p in plans}
    files = write_transcript(transcript, inputs.series, work)
    ep = Episode(inputs, info, transcript, files, rendered, covers, folder)
    publish(ep, inputs)
    return ep


def manifest_of(read: Any, prefix: str, name: str = "manifest.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read(f"{prefix}/{name}"))
    return data


def answered(request: dict[str, Any]) -> bool:
    """A request that got a response below 400. Chromium's media loader cancels a video's request
    itself once it has what it preloads or seeks elsewhere (net::ERR_ABORTED after the 200/206):
    that is no failure."""
    status, failure = request["status"], request["failure"]
    if status is None or status >= 400:
        return False
    return failure is None or (failure == "net::ERR_ABORTED" and request["resource"] == "media")


def check_page(report: dict[str, Any], manifest: dict[str, Any]) -> None:
    """Every request answered, every video ready, each click on a word a seek to it."""
    requests = report["requests"]
    bad = [r for r in requests if not answered(r)]
    assert requests and not bad, bad
    assert report["errors"] == [], report["errors"]
    clips = manifest["clips"]
    for clip in clips:  # its 9:16 video, its poster (the cover) and its thumbnails were all loaded
        video = next(o["key"] for o in clip["outputs"] if (o["width"], o["height"]) == (1080, 1920))
        for key in [video, clip["cover"], *clip["thumbnails"]]:
            assert any(r["url"].endswith("/" + key) and r["status"] for r in requests), key
    videos = report["videos"]
    assert [v["clip"] for v in videos] == [c["id"] for c in clips]
    assert all(v["readyState"] >= 2 and v["error"] is None for v in videos), videos
    assert [s["clip"] for s in report["seeks"]] == [c["id"] for c in clips]
    for seek in report["seeks"]:  # the video went to the word; once there it may play on
        assert seek["target"] > 0 and abs(seek["seeking"] - seek["target"]) < 0.05, seek
        assert seek["target"] - 0.05 < seek["seeked"] < seek["target"] + 2, seek


def check_decisions(report: dict[str, Any], manifest: dict[str, Any]) -> None:
    """The JSON is a valid Prefect form answer with the first clip off, the second retitled and the
    fix; the TOML is a valid episode file part holding the same decisions."""
    first, second = (c["id"] for c in manifest["clips"])
    answer = ReviewInput.model_validate(json.loads(report["json"]))
    assert [(c.id, c.publish) for c in answer.clips] == [(first, False), (second, True)]
    assert answer.clips[1].title == NEW_TITLE and answer.clips[0].title == manifest["clips"][0]["title"]
    assert [(f.wrong, f.right) for f in answer.fixes] == [FIX]
    from_form = Decisions.from_dict(to_decisions(answer, manifest))
    assert (from_form.drop, dict(from_form.titles)) == ((first,), {second: NEW_TITLE})
    toml = tomllib.loads(report["toml"])
    from_file = EpisodeConfig.model_validate({"number": 1, "slug": "x", "title": "x", **toml})
    assert (from_file.drop, from_file.titles, from_file.fixes) == (from_form.drop, from_form.titles, from_form.fixes)


def decide(url: str, manifest: dict[str, Any], tmp: Path) -> dict[str, Any]:
    first, second = (c["id"] for c in manifest["clips"])
    return open_in_chromium(
        {
            "url": url,
            "mode": "full",
            "uncheck": [first],
            "titles": {second: NEW_TITLE},
            "fixes": [list(FIX)],
            "screenshot": str(tmp / "review.png"),
        }
    )


def test_review_page_from_the_folder_store(episode: Episode, tmp_path: Path) -> None:
    store = LocalStore(episode.folder)
    manifest = manifest_of(store.get_bytes, episode.prefix)
    link = review_link(store, episode.prefix)
    assert link == (episode.folder / manifest["review"]).as_uri()
    page = (episode.folder / manifest["review"]).read_text(encoding="utf-8")
    assert 'class="w suspect"' in page and 'title="À vérifier : probabilité Whisper' in page
    report = decide(link, manifest, tmp_path)
    check_page(report, manifest)
    check_decisions(report, manifest)
    assert not (episode.folder / review_pointer_key(episode.prefix)).exists(), "a folder store needs no signed copy"


def test_review_page_from_its_presigned_link_on_s3(episode: Episode, s3_env: S3Server, tmp_path: Path) -> None:
    bucket = s3_env.make_bucket("tt-review-" + secrets.token_hex(4))
    url = f"s3://{bucket}/shows"
    inputs = replace(episode.inputs, store_url=url, series=episode.inputs.series.model_copy(update={"store": url}))
    store = open_store(url)
    prefix = episode.prefix

    # The proposal: its signed page is stored beside it, and its link opens a working page.
    publish(episode, inputs, propose=True)
    proposal = manifest_of(store.get_bytes, prefix, "proposal.json")
    signed = store.get_bytes(review_pointer_key(prefix, proposal=True))
    source = signed_source(signed)
    assert source is not None and source[0] == proposal["review"]
    link = review_link(store, prefix, proposal=True)
    assert link.split("?", 1)[0] == f"{s3_env.endpoint_url}/{bucket}/shows/{prefix}/proposal.html"
    assert store.get_bytes(review_pointer_key(prefix, proposal=True)) == signed, "still fresh: not signed again"
    report = decide(link, proposal, tmp_path)
    check_page(report, proposal)
    check_decisions(report, proposal)
    assert all(r["url"].startswith(s3_env.endpoint_url) for r in report["requests"]), "every link presigned"

    # The control: the content-named page through its own presigned link loads nothing it links to.
    control = open_in_chromium({"url": store.link(proposal["review"]), "mode": "load"})
    refused = [r for r in control["requests"] if r["status"] == 403]
    assert refused and any(r["resource"] == "media" for r in refused), control["requests"]

    # Approved: the published episode's page is signed on demand; the proposal's goes.
    publish(episode, inputs)
    assert not store.exists(review_pointer_key(prefix, proposal=True))
    manifest = manifest_of(store.get_bytes, prefix)
    assert manifest["review"] == proposal["review"], "the same page: approving renders nothing"
    published = review_link(store, prefix)
    assert published.split("?", 1)[0].endswith(f"/shows/{prefix}/review.html")
    report = open_in_chromium({"url": published, "mode": "load"})
    assert all(answered(r) for r in report["requests"]), report["requests"]
    assert all(v["readyState"] >= 2 for v in report["videos"]) and len(report["videos"]) == 2, report["videos"]
    head = store.stat(review_pointer_key(prefix))
    assert head is not None and head.cache_control == "no-cache" and head.content_type.startswith("text/html")

    # Re-signed, like links.json, once half its life is gone; gc keeps it.
    before = store.get_bytes(review_pointer_key(prefix))
    review_link(store, prefix, now=datetime.now(UTC) + timedelta(days=3))
    assert store.get_bytes(review_pointer_key(prefix)) == before
    review_link(store, prefix, now=datetime.now(UTC) + timedelta(days=4))
    after = store.get_bytes(review_pointer_key(prefix))
    assert after != before and signed_source(after) is not None
    assert review_pointer_key(prefix) not in find_garbage(store, now=datetime.now(UTC))
