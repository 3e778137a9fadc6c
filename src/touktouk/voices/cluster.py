"""Speaker turns from voice embeddings, pure: how many speakers (1 to `max_speakers`), which
window is whose, and turns smoothed.

The speech is cut into segments of about `SEGMENT_S` (a voice is steadier over a few seconds than
over one window) and their mean embeddings are clustered bottom-up (average linkage on the cosine
distance) until the closest two groups are further apart than `THRESHOLD`: the number of speakers
is the number of groups left (at most `max_speakers`; groups holding less than `MIN_SHARE` of the
segments are given to the nearest larger one). Each window then takes its nearest speaker, a mode
filter over `SMOOTH` windows removes one-window flickers, and the turns are the runs of one
speaker, named S1, S2… in the order they first speak.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from touktouk.types import Turn

THRESHOLD = 0.25  # cosine distance between two speakers' segments (one voice: up to 0.13, two: 0.26-0.46)
MIN_SHARE = 0.1
SMOOTH = 5
SEGMENT_S = 3.0  # speech is clustered in pieces of about this length
MAX_WINDOWS = 3000  # clustered directly; beyond, a spread sample is, the rest go to the nearest centroid


def _agglomerate(x: np.ndarray, threshold: float, max_speakers: int) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    if len(x) < 2:
        return np.zeros(len(x), dtype=int)
    found = AgglomerativeClustering(
        n_clusters=None, distance_threshold=threshold, metric="cosine", linkage="average"
    ).fit_predict(x)
    if found.max() + 1 > max_speakers:
        found = AgglomerativeClustering(n_clusters=max_speakers, metric="cosine", linkage="average").fit_predict(x)
    return np.asarray(found)


def _centroids(x: np.ndarray, labels: np.ndarray, keep: Sequence[int]) -> np.ndarray:
    c = np.stack([x[labels == k].mean(axis=0) for k in keep])
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def cluster_voices(
    embeddings: np.ndarray, *, max_speakers: int = 4, threshold: float | None = None, min_share: float = MIN_SHARE
) -> np.ndarray:
    """A speaker index per window (0, 1…, in the order the speakers first appear); `threshold`:
    `THRESHOLD` unless given."""
    threshold = THRESHOLD if threshold is None else threshold
    x = np.asarray(embeddings, dtype=np.float64)
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=int)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    sample = np.linspace(0, n - 1, min(n, MAX_WINDOWS)).round().astype(int)
    labels = np.full(n, -1)
    labels[sample] = _agglomerate(x[sample], threshold, max_speakers)
    groups = [k for k in range(labels.max() + 1) if (labels == k).sum() >= max(1, min_share * len(sample))]
    groups = groups or [int(np.bincount(labels[sample]).argmax())]
    centroids = _centroids(x, labels, groups)
    labels = np.asarray(groups)[np.argmax(x @ centroids.T, axis=1)]
    order = {k: i for i, k in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[k] for k in labels.tolist()])


def smooth_labels(labels: np.ndarray, width: int = SMOOTH) -> np.ndarray:
    """The most frequent label in each window of `width` (ties: the window's own label)."""
    if len(labels) == 0 or width <= 1:
        return np.asarray(labels)
    half = width // 2
    out = np.asarray(labels).copy()
    for i in range(len(labels)):
        near = labels[max(0, i - half) : i + half + 1]
        counts = np.bincount(near)
        best = counts.argmax()
        out[i] = best if counts[best] > counts[labels[i]] else labels[i]
    return out


def voice_turns(
    centres: np.ndarray, labels: np.ndarray, regions: Sequence[tuple[float, float]], hop_s: float
) -> list[Turn]:
    """Each window's speaker over [centre - hop/2, centre + hop/2], the first and last windows of
    a speech region stretched to its edges; runs of one speaker joined across gaps shorter than a
    second; speakers named S1, S2…"""
    spans: list[Turn] = []
    for start, end in regions:
        inside = [(t, k) for t, k in zip(centres.tolist(), labels.tolist(), strict=True) if start <= t <= end]
        for n, (t, k) in enumerate(inside):
            a = start if n == 0 else max(start, t - hop_s / 2)
            b = end if n == len(inside) - 1 else min(end, t + hop_s / 2)
            name = f"S{k + 1}"
            if spans and spans[-1].speaker == name and a - spans[-1].end < 1.0:
                spans[-1] = Turn(spans[-1].start, b, name)
            else:
                spans.append(Turn(a, b, name))
    return spans


def segment_means(
    centres: np.ndarray, embeddings: np.ndarray, regions: Sequence[tuple[float, float]], seconds: float = SEGMENT_S
) -> tuple[np.ndarray, np.ndarray]:
    """(segment index per window, mean embedding per segment): each speech region cut into pieces
    of about `seconds`; a voice is steadier over a few seconds than over one window."""
    seg = np.full(len(centres), -1)
    n = 0
    for start, end in regions:
        pieces = max(1, round((end - start) / seconds))
        for i, t in enumerate(centres.tolist()):
            if start <= t <= end and seg[i] < 0:
                seg[i] = n + min(pieces - 1, int((t - start) / (end - start) * pieces))
        n += pieces
    seg[seg < 0] = n
    used = sorted(set(seg.tolist()))
    remap = {k: i for i, k in enumerate(used)}
    seg = np.array([remap[k] for k in seg.tolist()])
    means = np.stack([embeddings[seg == k].mean(axis=0) for k in range(len(used))])
    return seg, means


def diarize_embeddings(
    centres: np.ndarray,
    embeddings: np.ndarray,
    regions: Sequence[tuple[float, float]],
    hop_s: float,
    *,
    max_speakers: int = 4,
) -> list[Turn]:
    """Turns from the windows' embeddings: the speech cut into segments of a few seconds, their
    mean embeddings clustered, each window given its nearest speaker, smoothed, joined."""
    if len(embeddings) == 0:
        return []
    _, means = segment_means(centres, embeddings, regions)
    groups = cluster_voices(means, max_speakers=max_speakers)
    x = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    m = means / np.linalg.norm(means, axis=1, keepdims=True)
    centroids = np.stack([m[groups == k].mean(axis=0) for k in range(groups.max() + 1)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    labels = np.argmax(x @ centroids.T, axis=1)
    order = {k: i for i, k in enumerate(dict.fromkeys(smooth_labels(labels).tolist()))}
    labels = np.array([order[k] for k in smooth_labels(labels).tolist()])
    return voice_turns(centres, labels, regions, hop_s)
