"""The one way a file's content is hashed: SHA-256 hex digests, read once, in large chunks.

Digests are remembered for the life of the process, keyed by the file's identity (device, inode,
size, modification time in ns): a 20 GB rush that the footage check, the store and the render
cache all need is read once per run. A file rewritten in place gets a new mtime, so a new digest.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

_MEMO: dict[tuple[int, int, int, int, str], str] = {}
_LOCK = threading.Lock()
reads: dict[str, int] = {}  # resolved path → how many times its bytes were read for hashing


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def file_digests(path: str | Path, *algorithms: str) -> tuple[list[str], int]:
    """Several digests of one file in a single read (e.g. SHA-256 and MD5 for an S3 ETag), and its size."""
    with open(path, "rb") as f:
        before = os.fstat(f.fileno())
        ident = _identity(before)
        with _LOCK:
            known = [_MEMO.get((*ident, a)) for a in algorithms]
        if all(k is not None for k in known):
            return [k for k in known if k is not None], before.st_size
        digests = [hashlib.new(a, usedforsecurity=False) for a in algorithms]
        size = 0
        while chunk := f.read(1 << 20):
            size += len(chunk)
            for d in digests:
                d.update(chunk)
        after = os.fstat(f.fileno())
    found = [d.hexdigest() for d in digests]
    resolved = str(Path(path).resolve())
    with _LOCK:
        reads[resolved] = reads.get(resolved, 0) + 1
        if _identity(after) == ident and size == before.st_size:  # only a file that did not change meanwhile
            _MEMO.update({(*ident, a): digest for a, digest in zip(algorithms, found, strict=True)})
    return found, size


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    (sha256,), _ = file_digests(path, "sha256")
    return sha256
