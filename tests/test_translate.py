"""Whisper's translate task: an English caption track of a French episode."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_fixtures import FLEURS, SHARED_MEDIA, espeak_episode, have_shared
from touktouk.config import WhisperSettings
from touktouk.errors import ToukToukError
from touktouk.render.probe import extract_audio
from touktouk.store.keys import transcript_keys
from touktouk.transcribe.run import transcribe

ENGLISH = {"the", "and", "of", "to", "we", "is", "with", "that", "in", "a"}


def test_translation_keys_sit_beside_the_transcript() -> None:
    shas = {fmt: str(n) * 64 for n, fmt in enumerate(("json", "srt", "vtt", "en.srt", "en.vtt"))}
    keys = transcript_keys("touktouk/s01/e01-x", shas)
    folder = keys["json"].rsplit("/", 1)[0]
    assert folder.startswith("touktouk/s01/e01-x/transcript/")
    assert keys["en.srt"] == f"{folder}/transcript.en.srt"
    assert keys["en.vtt"] == f"{folder}/transcript.en.vtt"
    assert keys["srt"] == f"{folder}/transcript.srt"
    # A new translation is a new version of the whole transcript folder.
    assert transcript_keys("touktouk/s01/e01-x", {k: v for k, v in shas.items() if "." not in k})["srt"] != keys["srt"]
    for bad in ("../en.srt", "english.srt", "en.txt"):
        with pytest.raises(ValueError):
            transcript_keys("p", {**shas, bad: "0" * 64})


def test_unknown_task_is_refused(tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF")
    with pytest.raises(ToukToukError, match="translate"):
        transcribe(wav, WhisperSettings(), language="fr", task="summarise")


@pytest.mark.slow
def test_french_speech_translates_into_english(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOUKTOUK_CACHE_DIR", str(tmp_path / "cache"))
    name = f"{FLEURS[0]}.ogg"
    source = SHARED_MEDIA / name if have_shared(name) else espeak_episode(tmp_path / "fr.mp4").path
    wav = extract_audio(source, tmp_path / "a.wav")
    french, _ = transcribe(wav, WhisperSettings(), language="fr")
    english, cached = transcribe(wav, WhisperSettings(), language="fr", task="translate")
    assert not cached, "a translation must not be served from the transcript's cache entry"
    assert english.language == "en" and french.language == "fr"
    en_words = {w.text.lower().strip(".,;:!?'\"") for w in english.words}
    fr_words = {w.text.lower().strip(".,;:!?'\"") for w in french.words}
    assert len(en_words & ENGLISH) >= 3, english.text
    assert len(fr_words & ENGLISH) <= 1, french.text
    assert english.words and all(a.start <= b.start for a, b in zip(english.words, english.words[1:], strict=False))
