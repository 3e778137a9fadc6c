"""The `publish-episode` Prefect flow: a recipe of task calls, no business logic.

(fetch s3:// footage) → probe → extract audio → transcribe → transcript files → choose clips
→ store the footage → render clips (`.map`, each task stores its files and returns keys)
→ describe per platform → publish (`publish.commit.publish_outputs`: upload the rest, verify
the clips' objects, review page, manifest.json last).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from prefect import flow, get_run_logger, unmapped
from prefect.futures import PrefectFuture
from pydantic import Field

from touktouk.errors import ConfigError
from touktouk.orchestration.report import run_report
from touktouk.orchestration.review import already_answered, in_deployment, notify, run_link, wait_for_review
from touktouk.orchestration.runners import task_runner_from_env
from touktouk.orchestration.tasks import (
    choose_clips_task,
    describe_task,
    extract_audio_task,
    fetch_footage_task,
    fix_transcript_task,
    probe_task,
    publish_task,
    render_clip_task,
    store_master_task,
    transcribe_task,
    translate_task,
    write_transcript_task,
    youtube_master_task,
)
from touktouk.pipeline.decide import episode_decisions, fix_transcript, proposal_plans, read_proposal
from touktouk.pipeline.inputs import (
    load_inputs,
    refuse_other_footage,
    require_speech,
    resolve_episode,
    validate_picks,
    with_overrides,
)
from touktouk.pipeline.job import RenderJob
from touktouk.publish.commit import (
    Inputs,
    StoredClip,
    in_store,
)
from touktouk.review.decisions import Decisions, apply_to_plans
from touktouk.store.base import Store, StoredObject
from touktouk.store.keys import (
    episode_prefix,
)
from touktouk.store.url import open_store
from touktouk.transcribe.run import vocabulary_prompt
from touktouk.types import ClipPlan, Transcript

Stored = TypeVar("Stored", StoredClip, StoredObject)


def cached_unless_missing(
    result: Stored,
    cached: bool,
    store: Callable[[], Store],
    rerun: Callable[[], Stored],
    *,
    hit: str,
    miss: str = "",
) -> Stored:
    """The result of a task that stores files, as this run uses it. A result taken from the task
    cache (`cached`) stands only while every object it lists is still in `store()` (then logged
    with `hit`, none of them sent by this run); otherwise `rerun()` renders and stores it again."""
    if not cached:
        return result
    objects = result.objects() if isinstance(result, StoredClip) else [result]
    logger = get_run_logger()
    if not all(in_store(store(), o) for o in objects):
        if miss:
            logger.info(miss)
        return rerun()
    logger.info(hit)
    if isinstance(result, StoredClip):
        return result.nothing_sent()
    return replace(result, uploaded=False)


def render_clips(plans: Sequence[ClipPlan], job: RenderJob) -> list[StoredClip]:
    """Fan the renders out with `.map` on the flow's task runner (threads, or Dask workers on
    other machines). A render taken from the task cache is used only while its files are still
    in the store; otherwise it is rendered again."""
    if not plans:
        return []
    futures = render_clip_task.map(list(plans), job=unmapped(job))
    store = functools.cache(lambda: open_store(job.store_url, endpoint_url=job.endpoint_url))

    def clip(plan: ClipPlan, future: PrefectFuture[StoredClip]) -> StoredClip:
        # A cached render keeps its files; the plan's score and reason are this run's.
        return replace(
            cached_unless_missing(
                future.result(),
                future.state.name == "Cached",
                store,
                lambda: render_clip_task.with_options(refresh_cache=True)(plan, job),
                hit=f"Clip {plan.id}: render inputs unchanged, taken from the task cache (no render)",
                miss=f"Clip {plan.id}: the cached render's files are no longer in the store; rendering again",
            ),
            plan=plan,
        )

    return [clip(plan, future) for plan, future in zip(plans, futures, strict=True)]


def youtube_master(job: RenderJob) -> StoredObject:
    """The master from the task cache while its file is still in the store, else rendered. (It
    runs after the clip renders: submitted beside them, it saved no wall time on 2 cores, since
    x264 already keeps both busy; docs/benchmarks.md, (e).)"""
    state = youtube_master_task(job, return_state=True)
    return cached_unless_missing(
        state.result(),
        state.name == "Cached",
        lambda: open_store(job.store_url, endpoint_url=job.endpoint_url),
        lambda: youtube_master_task.with_options(refresh_cache=True)(job),
        hit="YouTube master: inputs unchanged, taken from the task cache (no render)",
    )


def review_in_ui(inputs: Inputs, raw: Transcript, recorded: Decisions) -> dict[str, Any]:
    """Suspend for the producer's decisions on the stored proposal; each is checked first (a fix
    must match words, an id must name a clip) with what `touktouk approve` checks."""
    proposal = read_proposal(inputs) or {}
    store = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
    page = str(proposal.get("review", ""))
    plans = proposal_plans(proposal)

    def check(given: dict[str, Any]) -> None:
        decided = recorded.merged(Decisions.from_dict(given, strict=True))
        fixed = fix_transcript(raw, decided, get_run_logger())
        apply_to_plans(plans, decided, raw, fixed, "the review form")

    link = store.link(page) if page else ""
    if inputs.series.notify_webhook and not already_answered():
        message = {
            "event": "proposal",
            "episode": inputs.episode.episode_id,
            "title": inputs.episode.title,
            "clips": len(plans),
            "review_page": link,
            "flow_run": run_link(),
        }
        notify(inputs.series.notify_webhook, message, get_run_logger())
    return wait_for_review(proposal, link, check)


ClipPlatform = Literal["youtube_shorts", "tiktok", "instagram_reels", "linkedin", "x"]
CaptionStyleName = Literal["karaoke", "plain"]


@flow(name="publish-episode", log_prints=True, task_runner=task_runner_from_env())
def publish_episode(
    footage: str,
    episode: str | None = None,
    store: str | None = None,
    config: str | None = None,
    platforms: list[ClipPlatform] | None = None,
    auto_clips: Annotated[int, Field(ge=0, le=20)] | None = None,
    caption_style: CaptionStyleName = "karaoke",
    translate: Literal["en"] | None = None,
    replace: bool = False,
    review: bool = False,
    decisions: dict[str, Any] | None = None,
    from_proposal: bool = False,
) -> str:
    """Publish one episode: transcript, subtitled clips and metadata into the store.

    Args:
        footage: path to the episode footage on the worker's machine (relative to the project folder), or an
            s3://bucket/key URL (downloaded once, checksum verified, into the worker's footage cache).
        episode: episode slug (config/episodes/SLUG.toml) or path to an episode file; empty: named after the footage.
        store: folder, file:// URL or s3://bucket/prefix; default from the series config.
        config: path to the series config (default config/touktouk.toml).
        platforms: clip platforms to render for; empty: the series config's list.
        auto_clips: number of automatic clips besides the producer picks; empty: the series config's number.
        caption_style: karaoke (word-by-word highlight) or plain captions burned into the clips.
        translate: "en" also publishes English SRT/VTT of the episode (Whisper's translate task).
        replace: publish this footage even though the episode was published from other footage.
        review: store a proposal to review and approve (`touktouk approve`) instead of publishing.
        decisions: word fixes, dropped clips and titles to apply ({"fixes": [{"wrong", "right"}], "drop": [...],
            "titles": {...}}), on top of those the episode file and the published manifest hold.
        from_proposal: publish the clips of the stored proposal (set by `touktouk approve`).
    """
    started = time.monotonic()
    inputs = load_inputs(footage, resolve_episode(episode, config), store, config)
    inputs = with_overrides(inputs, platforms, auto_clips)
    if inputs.footage_url:
        inputs = fetch_footage_task(inputs)
    info = probe_task(inputs.footage)
    validate_picks(inputs, info.duration)
    if not replace:
        refuse_other_footage(inputs)
    workdir = Path(tempfile.mkdtemp(prefix="touktouk-"))
    try:
        audio = extract_audio_task(inputs.footage, workdir)
        ep = inputs.episode
        prompt = vocabulary_prompt(ep.guest, ep.organisation, ep.cause, *ep.hashtags)
        raw = transcribe_task(audio, inputs.series, prompt)
        require_speech(inputs, raw)
        decided = episode_decisions(inputs, decisions)
        transcript = fix_transcript_task(raw, decided)
        transcript_files = write_transcript_task(transcript, inputs.series, workdir)
        if translate:
            transcript_files |= translate_task(audio, inputs.series, translate, workdir)
        proposal = read_proposal(inputs) if from_proposal else None
        if from_proposal and proposal is None:
            raise ConfigError(
                f"{inputs.episode.episode_id} has no proposal waiting in {inputs.store_url}; "
                "run touktouk publish --review first."
            )
        if proposal is not None:
            plans = proposal_plans(proposal)
        else:
            plans = choose_clips_task(transcript, inputs, info.duration, audio)
        plans = apply_to_plans(plans, decided, raw, transcript, inputs.episode_file or inputs.episode.episode_id)
        master = store_master_task(inputs)
        job = RenderJob(
            store_url=inputs.store_url,
            endpoint_url=inputs.series.endpoint_url or None,
            prefix=episode_prefix(inputs.series, inputs.episode),
            episode_id=inputs.episode.episode_id,
            master=master,
            footage_hint=str(inputs.footage.resolve()),
            info=info,
            transcript=transcript,
            series=inputs.series,
            karaoke=caption_style == "karaoke",
            keywords=tuple(k for k in (ep.guest, ep.organisation, ep.cause, *ep.hashtags) if k),
            config_dir=inputs.config_dir,
        )
        clips = render_clips(plans, job)
        yt_master = youtube_master(job) if inputs.series.render.youtube_master else None
        episode_metadata = describe_task(clips, inputs, transcript)
        options = {
            "footage": footage, "episode": episode, "config": config, "store": inputs.store_url,
            "platforms": platforms, "auto_clips": auto_clips, "caption_style": caption_style, "translate": translate,
        }  # fmt: skip
        location = publish_task(
            inputs, info, transcript, transcript_files, clips, episode_metadata, master, yt_master,
            decided.to_dict(), options if review else None,
        )  # fmt: skip
        if review and in_deployment():
            # The producer decides in the UI; then the proposal is published with those decisions.
            given = review_in_ui(inputs, raw, decided)
            return publish_episode.fn(
                footage, episode, store, config, platforms, auto_clips, caption_style, translate, replace,
                review=False, decisions=given, from_proposal=True,
            )  # fmt: skip
        run_report(inputs, info, clips, location, time.monotonic() - started)
        return location
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
