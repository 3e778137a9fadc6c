"""The `publish-episode` Prefect flow: a recipe of task calls, no business logic.

(fetch s3:// footage, or assemble the episode's shoot) → probe → [submitted beside what follows:
store the footage, then the YouTube master] → extract audio → transcribe → transcript files →
choose clips → render clips and their covers (submitted; each task stores its files and returns
keys) → describe per platform → publish (`publish.commit.publish_outputs`: upload the rest, verify
the clips' objects, review page, manifest.json last). Each task is a stage of the run's
`stages.StageLog`: the summary artifact shows where the time went.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, TypeVar

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner

from touktouk.errors import ConfigError
from touktouk.orchestration.parameters import (
    SERIES_AUTO_CLIPS,
    AutoClips,
    CaptionStyleName,
    DecisionsField,
    Platforms,
    Text,
    Translate,
    or_none,
)
from touktouk.orchestration.report import run_report
from touktouk.orchestration.review import already_answered, in_deployment, notify, run_link, wait_for_review
from touktouk.orchestration.runners import FromEnvironment
from touktouk.orchestration.tasks import (
    choose_clips_task,
    describe_task,
    extract_audio_task,
    fetch_footage_task,
    fix_transcript_task,
    label_speakers_task,
    probe_task,
    publish_task,
    render_clip_task,
    render_cover_task,
    speaker_turns_task,
    speech_regions_task,
    store_master_task,
    transcribe_task,
    translate_task,
    write_transcript_task,
    youtube_master_task,
)
from touktouk.pipeline.decide import episode_decisions, fix_transcript, proposal_plans, read_proposal
from touktouk.pipeline.inputs import (
    assemble_inputs,
    load_inputs,
    refuse_other_footage,
    require_speech,
    require_voice,
    resolve_episode,
    validate_picks,
    with_overrides,
)
from touktouk.pipeline.job import EpisodeJob, RenderJob
from touktouk.publish.commit import (
    Inputs,
    StoredClip,
    episode_vocabulary,
    in_store,
    suspect_words,
)
from touktouk.publish.pointer import review_link
from touktouk.review.decisions import Decisions, apply_to_plans
from touktouk.shoot.assemble import framing
from touktouk.stages import CURRENT, StageLog, stage
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
    """Fan the renders and the covers out on the flow's task runner (threads, or Dask workers on
    other machines), each clip's cover submitted right after its render, so that the covers (one
    thread each) run beside the renders rather than all after them. A render or cover taken from
    the task cache is used only while its files are still in the store; otherwise it is made
    again. The cover is a task of its own: a new title redoes it (and the metadata), never the video."""
    if not plans:
        return []
    futures: list[PrefectFuture[StoredClip]] = []
    covers: list[PrefectFuture[StoredObject | None]] = []
    for plan in plans:
        futures.append(render_clip_task.submit(plan, job, return_state=False))
        covers.append(render_cover_task.submit(plan, job, return_state=False))
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

    rendered = [clip(plan, future) for plan, future in zip(plans, futures, strict=True)]

    def cover_again(plan: ClipPlan) -> StoredObject:
        made = render_cover_task.with_options(refresh_cache=True)(plan, job)
        assert made is not None  # the same settings made one before
        return made

    def with_cover(clip: StoredClip, future: PrefectFuture[StoredObject | None]) -> StoredClip:
        found = future.result()
        if found is None:
            return clip
        cover = cached_unless_missing(
            found,
            future.state.name == "Cached",
            store,
            lambda: cover_again(clip.plan),
            hit=f"Clip {clip.plan.id}: cover inputs unchanged, taken from the task cache",
        )
        return replace(clip, extras={**clip.extras, "cover": cover})

    return [with_cover(c, f) for c, f in zip(rendered, covers, strict=True)]


def youtube_master(future: PrefectFuture[StoredObject], job: EpisodeJob, master: StoredObject) -> StoredObject:
    """The master (submitted as soon as the footage was stored: it needs no transcript, so it
    encodes beside the transcription), from the task cache while its file is still in the store."""
    return cached_unless_missing(
        future.result(),
        future.state.name == "Cached",
        lambda: open_store(job.store_url, endpoint_url=job.endpoint_url),
        lambda: youtube_master_task.with_options(refresh_cache=True)(job, master),
        hit="YouTube master: inputs unchanged, taken from the task cache (no render)",
    )


def review_in_ui(inputs: Inputs, raw: Transcript, transcript: Transcript, recorded: Decisions) -> dict[str, Any]:
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

    link = review_link(store, episode_prefix(inputs.series, inputs.episode), proposal=True, page_key=page or None)
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
    return wait_for_review(proposal, link, check, suspects=suspect_words(transcript, plans, episode_vocabulary(inputs)))


RUNNER: TaskRunner[Any] = FromEnvironment()  # chosen from the environment each time the flow runs


@flow(name="publish-episode", log_prints=True, task_runner=RUNNER)
def publish_episode(
    footage: str = "",
    episode: Text = "",
    store: Text = "",
    config: Text = "",
    platforms: Platforms = [],  # noqa: B006 (Prefect validates a copy; never mutated)
    auto_clips: AutoClips = SERIES_AUTO_CLIPS,
    caption_style: CaptionStyleName = "karaoke",
    translate: Translate = "none",
    replace: bool = False,
    review: bool = False,
    decisions: DecisionsField = {},  # noqa: B006
    from_proposal: bool = False,
) -> str:
    """Publish one episode: transcript, subtitled clips and metadata into the store.

    Args:
        footage: The episode's video file on the worker's machine, relative to the project folder
            (for example inbox/awa-diallo.mp4), or its address in the bucket (s3://bucket/inbox/awa-diallo.mp4);
            leave empty to publish the shoot the episode file describes (its cameras and mics).
        episode: The episode file's name (awa-diallo for config/episodes/awa-diallo.toml) or its path; leave
            empty to name the episode after the video file.
        store: Where to publish: a folder, or s3://bucket/prefix; leave empty for the series' store.
        config: The series settings file; leave empty for config/touktouk.toml.
        platforms: The platforms to make clips for; none ticked: the series' platforms.
        auto_clips: How many clips the machine picks besides yours (0 to 20); -1 keeps the series' number.
        caption_style: karaoke (each word lights up as it is said) or plain captions, burned into the clips.
        translate: en also publishes English subtitles of the whole episode; none: French only.
        replace: Tick to publish this video even though the episode was published from another video.
        review: Tick to check the clips before anything is public: the run waits for your approval here.
        decisions: Word fixes, clips left out and titles to apply ({"fixes": [{"wrong": "Tuk Tuk", "right":
            "ToukTouk"}], "drop": ["c01m42.3s"], "titles": {"c01m42.3s": "..."}}); usually left empty.
        from_proposal: Publish the clips of the proposal waiting for review (set by touktouk approve).
    """
    # After the producer's decisions in the UI, the same run publishes the proposal with them.
    approved = functools.partial(
        publish_episode.fn, footage, episode, store, config, platforms, auto_clips, caption_style, translate, replace,
        review=False, from_proposal=True,
    )  # fmt: skip
    episode, store, config = or_none(episode), or_none(store), or_none(config)
    platforms, auto_clips, translate = or_none(platforms), or_none(auto_clips), or_none(translate)
    decisions = or_none(decisions)
    times = CURRENT.get()  # `touktouk publish` keeps one from its start; the nested approval run shares it
    owner = times is None
    if times is None:
        times = StageLog()
    token = CURRENT.set(times) if owner else None
    times.end_interval()  # the CLI's "Prefect start-up"
    try:
        return _publish(
            footage, episode, store, config, platforms, auto_clips, caption_style, translate, replace, review,
            decisions, from_proposal, times, approved,
        )  # fmt: skip
    finally:
        if token is not None:
            times.close()
            CURRENT.reset(token)


def _publish(
    footage: str,
    episode: str | None,
    store: str | None,
    config: str | None,
    platforms: Sequence[str] | None,
    auto_clips: int | None,
    caption_style: str,
    translate: str | None,
    replace: bool,
    review: bool,
    decisions: dict[str, Any] | None,
    from_proposal: bool,
    times: StageLog,
    approved: Callable[..., str],
) -> str:
    started = time.monotonic()
    with stage("read the inputs"):
        inputs = load_inputs(footage, resolve_episode(episode, config), store, config)
        inputs = with_overrides(inputs, platforms, auto_clips)
    if inputs.footage_url:
        inputs = fetch_footage_task(inputs)
    with stage("assemble the shoot"):
        inputs = assemble_inputs(inputs, get_run_logger())  # a shoot: its conformed footage (cached)
    info = probe_task(inputs.footage)
    validate_picks(inputs, info.duration)
    if not replace:
        refuse_other_footage(inputs)
    workdir = Path(tempfile.mkdtemp(prefix="touktouk-"))
    try:
        audio = extract_audio_task(inputs.footage, workdir)
        speech = speech_regions_task(audio)
        require_voice(inputs, speech)  # silent footage: refused before anything is stored
        # Nothing needs the stored footage before the renders: hash and store it beside the
        # transcription, and start the YouTube master (it needs no transcript) as soon as it is stored.
        stored = store_master_task.submit(inputs)
        episode_job = EpisodeJob(
            store_url=inputs.store_url,
            endpoint_url=inputs.series.endpoint_url or None,
            prefix=episode_prefix(inputs.series, inputs.episode),
            episode_id=inputs.episode.episode_id,
            footage_hint=str(inputs.footage.resolve()),
            info=info,
            series=inputs.series,
            config_dir=inputs.config_dir,
        )
        yt_future = (
            youtube_master_task.submit(episode_job, stored, return_state=False)
            if inputs.series.render.youtube_master
            else None
        )
        turns = speaker_turns_task.submit(inputs, audio, speech, return_state=False)  # beside the transcription too
        ep = inputs.episode
        prompt = vocabulary_prompt(ep.guest, ep.organisation, ep.cause, *ep.hashtags)
        raw = transcribe_task(audio, inputs.series, prompt)
        require_speech(inputs, raw)
        decided = episode_decisions(inputs, decisions)
        transcript = label_speakers_task(fix_transcript_task(raw, decided), turns.result())
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
        master = stored.result()
        job = RenderJob(
            **{f.name: getattr(episode_job, f.name) for f in fields(EpisodeJob)},
            master=master,
            transcript=transcript,
            karaoke=caption_style == "karaoke",
            keywords=tuple(k for k in (ep.guest, ep.organisation, ep.cause, *ep.hashtags) if k),
            framing=framing(inputs.shoot, ep.shoot),
        )
        clips = render_clips(plans, job)
        yt_master = youtube_master(yt_future, episode_job, master) if yt_future is not None else None
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
            given = review_in_ui(inputs, raw, transcript, decided)
            return approved(decisions=given)
        run_report(inputs, info, clips, location, time.monotonic() - started, times.times())
        return location
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
