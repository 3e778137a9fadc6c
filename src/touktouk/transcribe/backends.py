"""Whisper backends (faster-whisper, openai-whisper) behind one protocol and one window loop."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from touktouk.config import WhisperSettings
from touktouk.errors import ToukToukError
from touktouk.progress import Progress
from touktouk.transcribe.guards import Decoded, apply_guards
from touktouk.transcribe.models import resolve_faster_whisper_model, resolve_openai_whisper_model
from touktouk.transcribe.vad import SAMPLE_RATE, Window, clip_timestamps, open_pcm, plan_audio, speech_before
from touktouk.types import Transcript, Word


class Backend(Protocol):
    name: str

    def transcribe(
        self, audio: Path, *, language: str, prompt: str, on_progress: Progress | None, task: str = "transcribe"
    ) -> Transcript: ...


def finished_sentence(prompt: str) -> str:
    """The vocabulary as a finished sentence. Without a full stop the model reads the speech as
    the rest of the vocabulary's sentence and skips what seems said already (FLEURS fr 001 lost
    its first sentence, the one naming the "Comité olympique", to "USOC, Comité olympique des
    États-Unis"; with the full stop it is transcribed and spelt right)."""
    prompt = prompt.strip()
    return prompt if not prompt or prompt.endswith((".", "!", "?", "…")) else prompt + "."


class WindowedBackend(ABC):
    """The long-audio loop both Whisper backends share: the PCM read window by window (cut between
    speech regions, `plan_audio`), progress, word times and the guards. A backend loads its model
    and decodes one window (`_decode`)."""

    name: str
    window_seconds: float  # audio per model call
    # Whether `_decode` joins the speech regions end to end, so every word already lies inside
    # speech (else the guards drop the words outside it).
    decodes_speech_only: bool
    # Whether `_decode` yields segments as it decodes them, so progress moves by segment (else by window).
    streams_segments: bool
    settings: WhisperSettings
    model_name: str

    def transcribe(
        self, audio: Path, *, language: str, prompt: str, on_progress: Progress | None, task: str = "transcribe"
    ) -> Transcript:
        decoded: list[Decoded] = []
        with open_pcm(audio) as pcm:
            speech, windows = plan_audio(pcm, vad=self.settings.vad, max_seconds=self.window_seconds)
            total, done = sum(w.speech_seconds for w in windows), 0.0
            if on_progress:
                on_progress(0.0, total)
            for window in windows:
                samples = pcm.read(window.start, window.end)
                found = self._decode(samples, window, language=language, prompt=prompt, task=task)
                del samples  # `_decode` holds the only reference now, and may free them early
                for relative in found:
                    seg = relative.shifted(window.start)
                    decoded.append(seg)
                    if on_progress and self.streams_segments:
                        on_progress(done + speech_before(seg.end, window.speech), total)
                done += window.speech_seconds
                if on_progress:
                    on_progress(done, total)
            duration = pcm.duration
        if on_progress:
            on_progress(total, total)
        segments = apply_guards(decoded, speech=None if self.decodes_speech_only else speech, prompt=prompt)
        out_language = "en" if task == "translate" else language
        return Transcript(out_language, duration, tuple(segments), model=self.model_name, backend=self.name)

    @abstractmethod
    def _decode(
        self, samples: np.ndarray, window: Window, *, language: str, prompt: str, task: str
    ) -> Iterable[Decoded]:
        """The segments of one window, `samples` being its audio, with times from `window.start`."""


class FasterWhisperBackend(WindowedBackend):
    name = "faster-whisper"
    window_seconds = 600.0  # 10 min of audio per model call
    decodes_speech_only = True
    streams_segments = True

    def __init__(self, settings: WhisperSettings) -> None:
        from faster_whisper import WhisperModel

        device, compute = settings.device, settings.compute_type
        if device == "auto":
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        if compute == "auto":
            compute = "float16" if device == "cuda" else "int8"
        self.settings = settings
        self.model_name = settings.model
        path = resolve_faster_whisper_model(settings.model)
        try:
            self.model = WhisperModel(path, device=device, compute_type=compute, cpu_threads=settings.threads)
        except Exception as exc:  # the hub client raises many types when offline
            raise ToukToukError(
                f"could not load Whisper model '{settings.model}' ({type(exc).__name__}); "
                "use the offline 'base' model, a local model folder, or connect to the internet once to download it."
            ) from None

    def _decode(
        self, samples: np.ndarray, window: Window, *, language: str, prompt: str, task: str
    ) -> Iterator[Decoded]:
        """One window, decoded as faster-whisper's own VAD filter does: the speech regions joined
        end to end, and the times mapped back (`restore_speech_timestamps`)."""
        from faster_whisper.transcribe import restore_speech_timestamps

        chunks = [
            {"start": round((a - window.start) * SAMPLE_RATE), "end": round((b - window.start) * SAMPLE_RATE)}
            for a, b in window.speech
        ]
        speech = np.concatenate([samples[c["start"] : c["end"]] for c in chunks])
        del samples
        segments, _ = self.model.transcribe(
            speech,
            language=language,
            task=task,
            beam_size=self.settings.beam_size,
            word_timestamps=True,
            vad_filter=False,  # done already, over the whole file (`plan_audio`)
            # Vocabulary as hotwords: unlike an initial prompt, they reach every 30 s window.
            hotwords=finished_sentence(prompt) or None,
            # Conditioning on earlier text is what lets repetition loops run away on long audio.
            condition_on_previous_text=False,
        )
        for seg in restore_speech_timestamps(segments, chunks, SAMPLE_RATE):
            words = tuple(Word(float(w.start), float(w.end), w.word, float(w.probability)) for w in (seg.words or []))
            yield Decoded(seg.start, seg.end, seg.text, words, float(seg.no_speech_prob), float(seg.avg_logprob))


class OpenAIWhisperBackend(WindowedBackend):
    name = "openai-whisper"
    window_seconds = 120.0  # 2 min of audio per model call: also how often progress moves
    # Clips join speech regions closer than 2 s (`merge_regions`): the pauses between them are decoded too.
    decodes_speech_only = False
    streams_segments = False

    def __init__(self, settings: WhisperSettings) -> None:
        try:
            import whisper
        except ImportError:
            raise ToukToukError(
                "the openai-whisper backend is not installed; run '.venv/bin/pip install -r requirements-openai.txt' "
                "then '.venv/bin/pip install --no-deps openai-whisper==20250625' (or 'make setup'), "
                'or set whisper.backend = "faster-whisper" in config/touktouk.toml.'
            ) from None
        self.settings = settings
        self.model_name = settings.model
        device = settings.device if settings.device != "auto" else None
        try:
            resolved = resolve_openai_whisper_model(settings.model)
            if Path(resolved).is_file():
                from touktouk.transcribe.convert import load_openai_checkpoint

                self.model = load_openai_checkpoint(Path(resolved), device)
            else:
                self.model = whisper.load_model(resolved, device=device)
        except ToukToukError:
            raise
        except Exception as exc:
            raise ToukToukError(
                f"could not load openai-whisper model '{settings.model}' ({type(exc).__name__}); "
                "give a local .pt checkpoint, use the offline 'base' model, or connect to the internet once."
            ) from None
        if settings.threads:
            import torch

            torch.set_num_threads(settings.threads)

    def _decode(self, samples: np.ndarray, window: Window, *, language: str, prompt: str, task: str) -> list[Decoded]:
        t0 = window.start
        vad = self.settings.vad
        # openai-whisper has no voice-activity filter of its own: Silero decides where speech is
        # (`plan_audio`), and only the speech is decoded (silence and music never reach the model).
        clips = clip_timestamps([(a - t0, b - t0) for a, b in window.speech], len(samples)) if vad else "0"
        if not clips:
            return []
        result: dict[str, Any] = self.model.transcribe(
            samples,
            language=language,
            task=task,
            word_timestamps=True,
            initial_prompt=prompt or None,
            carry_initial_prompt=bool(prompt),  # the vocabulary reaches every 30 s window
            condition_on_previous_text=False,
            beam_size=self.settings.beam_size,
            fp16=self.model.device.type == "cuda",
            verbose=None,
            clip_timestamps=clips,
        )
        return [
            Decoded(
                float(seg["start"]),
                float(seg["end"]),
                seg["text"],
                tuple(
                    Word(float(w["start"]), float(w["end"]), w["word"], float(w.get("probability", 1.0)))
                    for w in seg.get("words", [])
                ),
                float(seg.get("no_speech_prob", 0.0)),
                float(seg.get("avg_logprob", 0.0)),
            )
            for seg in result["segments"]
        ]


BACKENDS: dict[str, Callable[[WhisperSettings], Backend]] = {
    "faster-whisper": FasterWhisperBackend,
    "openai-whisper": OpenAIWhisperBackend,
}
