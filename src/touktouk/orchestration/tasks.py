"""Prefect tasks: thin wrappers over the pipeline's plain functions."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from touktouk.config import SeriesConfig
from touktouk.orchestration.cache_keys import cover_cache_key, render_cache_key, youtube_master_cache_key
from touktouk.orchestration.runners import TRANSIENT_RETRY_DELAYS, retry_transient
from touktouk.pipeline.clips import render_and_store_clip, render_and_store_cover
from touktouk.pipeline.decide import fix_transcript
from touktouk.pipeline.inputs import fetch_inputs
from touktouk.pipeline.job import EpisodeJob, RenderJob
from touktouk.pipeline.master import render_and_store_master, store_footage
from touktouk.pipeline.metadata import describe_episode
from touktouk.pipeline.plans import plan_clips
from touktouk.pipeline.speakers import label_speakers, speaker_turns
from touktouk.pipeline.transcript import translate, write_transcript
from touktouk.progress import ProgressLog
from touktouk.publish.commit import Inputs, StoredClip, publish_outputs
from touktouk.render.probe import MediaInfo, extract_audio, probe
from touktouk.review.decisions import Decisions
from touktouk.runlog import run_logger
from touktouk.stages import staged
from touktouk.store.base import StoredObject
from touktouk.transcribe.run import transcribe
from touktouk.transcribe.vad import open_pcm, pcm_speech_regions
from touktouk.types import ClipPlan, Transcript, Turn

log = logging.getLogger(__name__)


@task(
    name="fetch footage",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
@staged("fetch footage")
def fetch_footage_task(inputs: Inputs) -> Inputs:
    """Download s3:// footage into the local cache (verified; a cached copy is reused)."""
    return fetch_inputs(inputs, get_run_logger())


@task(name="probe footage", cache_policy=NO_CACHE)
@staged("probe footage")
def probe_task(footage: Path) -> MediaInfo:
    info = probe(footage)
    get_run_logger().info(
        "Footage %s: %.1f s, %s, %d audio channel(s)",
        footage.name,
        info.duration,
        f"{info.width}x{info.height} @ {info.fps:.2f} fps" if info.has_video else "audio only",
        info.audio_channels,
    )
    return info


@task(name="extract audio", cache_policy=NO_CACHE)
@staged("extract audio")
def extract_audio_task(footage: Path, workdir: Path) -> Path:
    return extract_audio(footage, workdir / "audio-16k.wav")


@task(name="transcribe", cache_policy=NO_CACHE)  # transcribe.cache is the transcript's one cache
@staged("transcribe", native=True)
def transcribe_task(audio: Path, series: SeriesConfig, prompt: str) -> Transcript:
    logger = get_run_logger()
    t0 = time.monotonic()
    # progress (percent of the speech, ETA) goes to this run's logger: ProgressLog
    transcript, cached = transcribe(
        audio, series.whisper, language=series.language, prompt=prompt, on_progress=ProgressLog(logger)
    )
    logger.info(
        "Transcript: %d words%s (%s %s) in %.1f s",
        len(transcript.words),
        " from the cache, nothing recomputed" if cached else "",
        transcript.backend,
        transcript.model,
        time.monotonic() - t0,
    )
    return transcript


@task(name="write transcript", cache_policy=NO_CACHE)
@staged("write transcript")
def write_transcript_task(transcript: Transcript, series: SeriesConfig, workdir: Path) -> dict[str, Path]:
    return write_transcript(transcript, series, workdir)


@task(name="translate", cache_policy=NO_CACHE)
@staged("translate", native=True)
def translate_task(audio: Path, series: SeriesConfig, target: str, workdir: Path) -> dict[str, Path]:
    """Whisper's translate task: an English caption track of the whole episode."""
    return translate(audio, series, target, workdir, run_logger(log))


@task(name="apply word fixes", cache_policy=NO_CACHE)
@staged("apply word fixes")
def fix_transcript_task(transcript: Transcript, decisions: Decisions) -> Transcript:
    """The producer's word fixes (see `pipeline.decide.fix_transcript`)."""
    return fix_transcript(transcript, decisions, run_logger(log))


@task(name="find speech", cache_policy=NO_CACHE)
@staged("find speech")
def speech_regions_task(audio: Path) -> list[tuple[float, float]]:
    """Where the sound has speech (Silero VAD): silent footage is refused before anything is stored."""
    with open_pcm(audio) as pcm:
        return pcm_speech_regions(pcm)


@task(name="who speaks", cache_policy=NO_CACHE)
@staged("who speaks", native=True)
def speaker_turns_task(inputs: Inputs, audio: Path, regions: list[tuple[float, float]]) -> list[Turn]:
    """Who speaks when (see `pipeline.speakers.speaker_turns`): beside the transcription."""
    return speaker_turns(inputs, audio, regions, run_logger(log))


@task(name="label speakers", cache_policy=NO_CACHE)
@staged("label speakers")
def label_speakers_task(transcript: Transcript, turns: list[Turn]) -> Transcript:
    return label_speakers(transcript, turns)


@task(name="choose clips", cache_policy=NO_CACHE)
@staged("choose clips")
def choose_clips_task(
    transcript: Transcript, inputs: Inputs, duration: float, audio: Path | None = None
) -> list[ClipPlan]:
    """Picks and highlights (see `pipeline.plans.plan_clips`)."""
    return plan_clips(transcript, inputs, duration, audio, run_logger(log))


@task(
    name="render clip",
    cache_key_fn=render_cache_key,
    persist_result=True,
    retries=2,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
@staged("render clip")
def render_clip_task(plan: ClipPlan, job: RenderJob) -> StoredClip:
    """Render one clip on whichever machine runs this task and store its files; returns storage
    keys only (see `pipeline.clips.render_and_store_clip`)."""
    return render_and_store_clip(plan, job, get_run_logger())


@task(
    name="clip cover",
    cache_key_fn=cover_cache_key,
    persist_result=True,
    retries=2,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
@staged("clip cover")
def render_cover_task(plan: ClipPlan, job: RenderJob) -> StoredObject | None:
    """Make and store one clip's cover (see `pipeline.clips.render_and_store_cover`)."""
    return render_and_store_cover(plan, job, get_run_logger())


@task(
    name="store footage",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
@staged("store footage")
def store_master_task(inputs: Inputs) -> StoredObject:
    """Put the footage in the store first, so that render tasks on any machine can read it."""
    return store_footage(inputs, get_run_logger())


@task(name="describe", cache_policy=NO_CACHE)
@staged("describe")
def describe_task(clips: Sequence[StoredClip], inputs: Inputs, transcript: Transcript | None = None) -> dict[str, Any]:
    """Per-clip, per-platform metadata and the episode's (see `pipeline.metadata.describe_episode`)."""
    return describe_episode(clips, inputs, transcript, run_logger(log))


@task(
    name="publish",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
@staged("publish")
def publish_task(
    inputs: Inputs,
    info: MediaInfo,
    transcript: Transcript,
    transcript_files: dict[str, Path],
    clips: Sequence[StoredClip],
    episode_metadata: dict[str, Any],
    master: StoredObject | None = None,
    youtube_master: StoredObject | None = None,
    decisions: dict[str, Any] | None = None,
    proposal_inputs: dict[str, Any] | None = None,
) -> str:
    """Upload every file, then the manifest last, or the proposal (see `publish_outputs`)."""
    return publish_outputs(
        inputs,
        info,
        transcript,
        transcript_files,
        clips,
        episode_metadata,
        logger=get_run_logger(),
        master=master,
        youtube_master=youtube_master,
        decisions=decisions,
        proposal_inputs=proposal_inputs,
    )


@task(
    name="youtube master",
    cache_key_fn=youtube_master_cache_key,
    persist_result=True,
    retries=2,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
@staged("youtube master")
def youtube_master_task(job: EpisodeJob, master: StoredObject) -> StoredObject:
    """The whole episode as a YouTube-ready master, stored (see `pipeline.master.render_and_store_master`)."""
    return render_and_store_master(job, master, get_run_logger())
