"""The episode's footage and its YouTube master, put in the store."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from touktouk.pipeline.clips import local_master
from touktouk.pipeline.fingerprints import hash_parts, master_inputs
from touktouk.pipeline.job import EpisodeJob
from touktouk.platforms import YOUTUBE_MASTER
from touktouk.progress import ProgressLog
from touktouk.publish.commit import Inputs, log_put
from touktouk.render.encode import branding_from, encode_settings
from touktouk.render.master import render_master
from touktouk.runlog import LoggerLike
from touktouk.store.base import INPUTS_META, StoredObject, guess_content_type, sha256_and_size
from touktouk.store.keys import episode_prefix, master_key, youtube_master_key
from touktouk.store.url import open_store


def store_footage(inputs: Inputs, logger: LoggerLike) -> StoredObject:
    """Put the footage in the store first, so that render tasks on any machine can read it."""
    store = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
    sha256, _ = sha256_and_size(inputs.footage)  # remembered: the footage is read once per run
    key = master_key(episode_prefix(inputs.series, inputs.episode), inputs.footage.suffix, sha256)
    meta = {"episode": inputs.episode.episode_id}
    obj = store.put_file(key, inputs.footage, guess_content_type(key), meta, immutable=True)
    return log_put(logger, obj)


def render_and_store_master(job: EpisodeJob, master: StoredObject, logger: LoggerLike) -> StoredObject:
    """The whole episode as a YouTube-ready 1920x1080 master (H.264/AAC, loudness-normalised in two
    passes) from the stored footage `master`, stored at its key; its SRT/VTT sidecars are the
    transcript's caption files."""
    store = open_store(job.store_url, endpoint_url=job.endpoint_url)
    footage = local_master(store, job, master, logger)
    workdir = Path(tempfile.mkdtemp(prefix="touktouk-master-"))
    try:
        out = workdir / "youtube.mp4"
        info = replace(job.info, path=str(footage))
        encode = encode_settings(YOUTUBE_MASTER, x264_preset=job.series.render.preset, crf=job.series.render.crf)
        t0 = time.monotonic()
        progress = ProgressLog(logger, label="Encoding the YouTube master", of="of video")
        render_master(
            info, out, encode=encode, branding=branding_from(job.series.brand, job.config_dir), on_progress=progress
        )
        logger.info("Rendered the YouTube master (%.0f s of footage) in %.1f s", info.duration, time.monotonic() - t0)
        key = youtube_master_key(job.prefix, sha256_and_size(out)[0])
        meta = {"episode": job.episode_id, "platform": "youtube", INPUTS_META: hash_parts(master_inputs(job, master))}
        return log_put(logger, store.put_file(key, out, guess_content_type(key), meta, immutable=True))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
