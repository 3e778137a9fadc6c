"""Clip renders fanned out with `.map` on a local Dask cluster (2 worker processes): the render
tasks get storage keys, fetch the footage from the store themselves (the flow's copy is gone),
and put their files in the store. Then the task cache: a re-run renders nothing while the files
are still stored, and renders again a clip whose file was deleted from the store."""

from __future__ import annotations

import logging
import secrets
import subprocess
from pathlib import Path

import pytest

from pipeline_helpers import write_series
from s3server import S3Server
from touktouk.config import EpisodeConfig, load_series
from touktouk.hashing import file_sha256
from touktouk.orchestration.flow import render_clips
from touktouk.pipeline.job import RenderJob
from touktouk.publish.commit import StoredClip
from touktouk.render.probe import probe
from touktouk.store.keys import episode_prefix, master_key
from touktouk.store.s3 import S3Store
from touktouk.types import ClipPlan, Segment, Transcript, Word

pytestmark = pytest.mark.slow  # a Dask cluster, real renders, a real S3 server (about 45 s)

WORDS = ["Bonjour", "à", "tous.", "Nous", "parlons", "de", "réemploi.", "Merci", "beaucoup", "pour", "vous."]


def _footage(path: Path) -> Path:
    cmd = "ffmpeg -v error -nostdin -y -f lavfi -i testsrc2=s=320x240:r=25:d=8 -f lavfi -i sine=d=8 -shortest"
    subprocess.run([*cmd.split(), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(path)], check=True)
    return path


def _transcript() -> Transcript:
    words = tuple(Word(0.5 + 0.5 * i, 0.9 + 0.5 * i, w) for i, w in enumerate(WORDS))
    return Transcript("fr", 8.0, (Segment(words[0].start, words[-1].end, " ".join(WORDS), words),), "base", "test")


def test_renders_on_a_dask_cluster_land_in_the_store_and_rerun_from_the_cache(
    s3_env: S3Server,
    tmp_path: Path,
    prefect_harness: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from prefect import flow
    from prefect_dask import DaskTaskRunner

    monkeypatch.setenv("TOUKTOUK_FOOTAGE_CACHE", str(tmp_path / "footage-cache"))  # before the workers start
    bucket = s3_env.make_bucket("dask-" + secrets.token_hex(5))
    series = load_series(str(write_series(tmp_path / "touktouk.toml", store=f"s3://{bucket}/shows", platforms=("x",))))
    episode = EpisodeConfig(number=2, slug="dask", title="Dask")
    prefix = episode_prefix(series, episode)
    store = S3Store(bucket, "shows")
    footage = _footage(tmp_path / "footage.mp4")
    info = probe(footage)
    master = store.put_file(
        master_key(prefix, ".mp4", file_sha256(footage)), footage, "video/mp4", {"episode": episode.episode_id}
    )
    footage.unlink()  # the workers must read the stored master, not the flow's file
    job = RenderJob(
        store_url=f"s3://{bucket}/shows",
        endpoint_url=None,
        prefix=prefix,
        episode_id=episode.episode_id,
        master=master,
        footage_hint=str(footage),
        info=info,
        transcript=_transcript(),
        series=series,
    )
    plans = [ClipPlan("c01", 0.5, 3.5, "Bonjour à tous."), ClipPlan("c02", 4.0, 7.0, "Merci beaucoup.")]

    @flow(name="render-two")
    def render_two() -> list[StoredClip]:
        return render_clips(plans, job)

    cluster = {"n_workers": 2, "threads_per_worker": 1, "processes": True, "dashboard_address": None}
    runner = DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=cluster)
    with caplog.at_level(logging.INFO):
        clips = render_two.with_options(task_runner=runner)()

    assert [c.plan.id for c in clips] == ["c01", "c02"]
    for clip in clips:
        video = clip.videos[0]
        assert (video.platforms, video.width, video.height) == (("x",), 720, 1280)
        assert abs(video.duration - 3.0) < 0.2
        assert sorted(clip.captions) == ["ass", "srt", "vtt"]
        for obj in clip.objects():
            found = store.stat(obj.key)
            assert found is not None and (found.bytes, found.sha256) == (obj.bytes, obj.sha256), obj.key
    key = clips[0].videos[0].obj.key
    assert key.startswith(f"{prefix}/clips/c01/") and key.endswith("/720x1280.mp4")
    # The render tasks downloaded the master into the footage cache (the flow's file was deleted).
    assert list((tmp_path / "footage-cache").glob(f"{master.sha256}/*.mp4"))

    # Same inputs again (thread pool this time): both renders come from the task cache.
    caplog.clear()
    with caplog.at_level(logging.INFO):
        again = render_two()
    assert caplog.text.count("taken from the task cache (no render)") == 2
    assert "Rendered clip" not in caplog.text
    assert [o.key for c in again for o in c.objects()] == [o.key for c in clips for o in c.objects()]
    assert not any(o.uploaded for c in again for o in c.objects())

    # A cached render whose file left the store is rendered again, not trusted.
    store.delete(clips[1].videos[0].obj.key)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        third = render_two()
    assert "Clip c02: the cached render's files are no longer in the store; rendering again" in caplog.text
    assert caplog.text.count("Rendered clip") == 1
    assert store.stat(third[1].videos[0].obj.key) is not None
