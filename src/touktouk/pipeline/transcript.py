"""The episode's transcript files: JSON with word timings, and 16:9 SRT/VTT (also a translation)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from touktouk.captions.files import write_captions
from touktouk.captions.layout import layout_for_style
from touktouk.captions.styles import style_for
from touktouk.config import SeriesConfig
from touktouk.errors import ToukToukError
from touktouk.runlog import LoggerLike
from touktouk.transcribe.run import transcribe
from touktouk.types import Transcript, Word


def _caption_track(words: Sequence[Word], series: SeriesConfig, out: Path, stem: str) -> dict[str, Path]:
    """SRT and VTT of the whole episode in the 16:9 (classic) layout."""
    style = style_for("classic", series.brand, series.captions)
    files = write_captions(layout_for_style(words, style), style, out, stem, karaoke=False)
    return {"srt": files["srt"], "vtt": files["vtt"]}


def write_transcript(transcript: Transcript, series: SeriesConfig, workdir: Path) -> dict[str, Path]:
    """transcript.json, .srt and .vtt in `workdir`/transcript."""
    out = workdir / "transcript"
    out.mkdir(parents=True, exist_ok=True)
    files = _caption_track(transcript.words, series, out, "transcript")
    js = out / "transcript.json"
    js.write_text(json.dumps(transcript.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return {"json": js, **files}


def translate(audio: Path, series: SeriesConfig, target: str, workdir: Path, logger: LoggerLike) -> dict[str, Path]:
    """Whisper's translate task: an English caption track of the whole episode."""
    if target != "en":
        raise ToukToukError(f"Whisper translates into English only; use --translate en, not '{target}'.")
    transcript, cached = transcribe(audio, series.whisper, language=series.language, task="translate")
    logger.info("Translation (%s): %d words%s", target, len(transcript.words), " from the cache" if cached else "")
    out = workdir / "transcript"
    out.mkdir(parents=True, exist_ok=True)
    files = _caption_track(transcript.words, series, out, f"transcript.{target}")
    return {f"{target}.{fmt}": path for fmt, path in files.items()}
