"""The one way a file's content is hashed: SHA-256 hex digests, read once, in large chunks."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def file_digests(path: str | Path, *algorithms: str) -> tuple[list[str], int]:
    """Several digests of one file in a single read (e.g. SHA-256 and MD5 for an S3 ETag), and its size."""
    digests = [hashlib.new(a, usedforsecurity=False) for a in algorithms]
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            size += len(chunk)
            for d in digests:
                d.update(chunk)
    return [d.hexdigest() for d in digests], size
