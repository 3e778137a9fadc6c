"""Footage hashing on a re-publish to a folder store: reads and seconds, digests remembered or not.

    .venv/bin/python benchmarks/hash_once.py [--gib 1]

Writes `--gib` GiB of random bytes as the footage, publishes it once as the master of an episode
(store + manifest), then runs, twice side by side, what a re-publish does with the footage and its
stored copy: the duplicate-slug check (`pipeline.inputs.refuse_other_footage`), the store-footage
step (`pipeline.master.store_footage`: hash, then the store's "already there?" check) and the
publish step's verification of the stored master (`publish.commit.in_store`). Run A forgets every
digest (each consumer hashes again, as before digests were remembered); run B is the code as it
is. Prints the reads of the footage and of the store's copy, and the wall time of each run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from touktouk import hashing
from touktouk.config import EpisodeConfig, SeriesConfig
from touktouk.pipeline.inputs import refuse_other_footage
from touktouk.pipeline.master import store_footage
from touktouk.publish.commit import Inputs, in_store
from touktouk.publish.manifest import build_manifest, to_json
from touktouk.store.keys import episode_prefix, manifest_key
from touktouk.store.local import LocalStore


class _Forgetful(dict):  # type: ignore[type-arg]
    """A digest memo that remembers nothing."""

    def __setitem__(self, key: object, value: object) -> None:
        return None

    def update(self, *args: object, **kwargs: object) -> None:
        return None


class _Log:
    def info(self, *args: object) -> None:
        return None


def _rerun(inputs: Inputs, store: LocalStore) -> tuple[float, dict[str, int]]:
    hashing.reads.clear()
    t0 = time.perf_counter()
    refuse_other_footage(inputs)
    master = store_footage(inputs, _Log())
    assert in_store(store, master)
    return time.perf_counter() - t0, dict(hashing.reads)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gib", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        footage = Path(tmp) / "rush.mp4"
        with footage.open("wb") as f:
            for _ in range(int(args.gib * 1024)):
                f.write(os.urandom(1 << 20))
        series, episode = (
            SeriesConfig(store=str(Path(tmp) / "store")),
            EpisodeConfig(number=1, slug="rush", title="Rush"),
        )
        inputs = Inputs(footage, series, episode, "", series.store)
        store = LocalStore(series.store)
        master = store_footage(inputs, _Log())
        data = build_manifest(
            series=series, episode=episode, source={"key": master.key}, transcript={}, clips=[], metadata={},
            objects=[master],
        )  # fmt: skip
        store.put_bytes(manifest_key(episode_prefix(series, episode)), to_json(data), "application/json")
        copy = str((Path(series.store) / master.key).resolve())
        rows = []
        for name, memo in (("A: digests forgotten", _Forgetful()), ("B: digests remembered", {})):
            hashing._MEMO = memo  # a new process: nothing known yet
            seconds, reads = _rerun(inputs, store)
            rows.append((name, reads.get(str(footage.resolve()), 0), reads.get(copy, 0), seconds))
        print(f"re-publish of {args.gib:g} GiB of footage to a folder store")
        print(f"{'run':24} {'footage reads':>14} {'store-copy reads':>17} {'seconds':>8}")
        for name, a, b, s in rows:
            print(f"{name:24} {a:14d} {b:17d} {s:8.2f}")
        reads_a, reads_b = rows[0][1] + rows[0][2], rows[1][1] + rows[1][2]
        print(f"ratio A/B: {rows[0][3] / rows[1][3]:.2f}x time, {reads_a / reads_b:.2f}x reads")


if __name__ == "__main__":
    main()
