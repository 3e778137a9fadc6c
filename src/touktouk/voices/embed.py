"""Speaker embeddings of speech: Resemblyzer's voice encoder (a 3-layer LSTM on 40 mel bands; its
weights, `pretrained.pt`, ship inside its wheel, so nothing is downloaded), one 256-dimension
embedding per `WINDOW_S` window every `HOP_S` inside each speech region."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

RATE = 16000
HOP_S = 0.5
WINDOW_S = 1.6  # Resemblyzer's partial utterance (160 mel frames of 10 ms)
MIN_REGION_S = 0.8  # shorter speech says too little about its voice


@functools.cache
def _encoder() -> Any:
    from resemblyzer import VoiceEncoder

    return VoiceEncoder("cpu", verbose=False)


def embed_regions(
    read: Any, regions: Sequence[tuple[float, float]], hop_s: float = HOP_S
) -> tuple[np.ndarray, np.ndarray]:
    """(window centres in seconds, embeddings n x 256) of the speech `regions`, each read as 16 kHz
    float samples by `read(start, end)`; a region shorter than a window is padded by the encoder."""
    from resemblyzer.audio import normalize_volume

    encoder = _encoder()
    centres: list[float] = []
    embeddings: list[np.ndarray] = []
    for start, end in regions:
        if end - start < MIN_REGION_S:
            continue
        wav = normalize_volume(np.asarray(read(start, end), dtype=np.float32), -30, increase_only=True)
        _, partials, slices = encoder.embed_utterance(wav, return_partials=True, rate=1 / hop_s, min_coverage=0.5)
        for s, e in zip(slices, partials, strict=True):
            mid = start + min((s.start + s.stop) / 2, len(wav)) / RATE
            centres.append(min(mid, end))
            embeddings.append(e)
    if not embeddings:
        return np.zeros(0), np.zeros((0, 256), dtype=np.float32)
    return np.asarray(centres), np.stack(embeddings)
