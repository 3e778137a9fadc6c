"""A folder as the store: atomic writes (temporary file, fsync, rename)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from touktouk.store.base import (
    CHUNK,
    DEFAULT_LINK_EXPIRY_S,
    TMP_SUFFIX,
    ObjectInfo,
    StoredObject,
    StoreError,
    cache_control_for,
    conflict,
    guess_content_type,
    object_metadata,
    refuse_overwrite,
    sha256_and_size,
    validate_key,
)


class LocalStore:
    """Objects as files under a root folder; writes are atomic (temp file + os.replace)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        # Resolve once so location() is absolute even if the cwd changes later.
        self.root = Path(root).expanduser().resolve()
        self.url = str(self.root)

    def __repr__(self) -> str:
        return f"LocalStore({self.url!r})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def location(self, key: str) -> str:
        return str(self._path(key))

    def _write(self, key: str, target: Path, source: BinaryIO, content_type: str) -> StoredObject:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Temp file in the same folder so os.replace is an atomic rename, never a copy.
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TMP_SUFFIX)
        except OSError as exc:
            raise StoreError(
                f"could not create folder for key {key!r} in local store {self.url} "
                f"({exc.strerror}); check that the folder is writable and not a file"
            ) from exc
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp_name, 0o644)  # mkstemp makes 0600; stored files should be shareable
            os.replace(tmp_name, target)
        except OSError as exc:
            Path(tmp_name).unlink(missing_ok=True)
            raise StoreError(
                f"could not write key {key!r} to local store {self.url} ({exc.strerror}); "
                "check free disk space and permissions, and that no folder has the same name"
            ) from exc
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        self._fsync_dir(target.parent)
        return StoredObject(key=key, bytes=size, sha256=digest.hexdigest(), content_type=content_type)

    @staticmethod
    def _fsync_dir(folder: Path) -> None:
        # Persist the rename itself; without this a crash can lose the new directory entry.
        try:
            dir_fd = os.open(folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass  # some filesystems refuse fsync on directories; the data is already synced
        finally:
            os.close(dir_fd)

    def _same_file(self, key: str, sha256: str, size: int, content_type: str) -> StoredObject | None:
        """The existing file at `key` when its bytes are identical (sizes first, then hashes)."""
        target = self._path(key)
        try:
            if not target.is_file() or target.stat().st_size != size:
                return None
            existing, _ = sha256_and_size(target)
        except OSError:
            return None  # unreadable: let the write report the problem
        if existing != sha256:
            return None
        return StoredObject(key=key, bytes=size, sha256=sha256, content_type=content_type, uploaded=False)

    def _reuse(self, key: str, sha256: str, size: int, content_type: str, immutable: bool) -> StoredObject | None:
        """The identical object already at `key`; with `immutable`, other bytes there are an error."""
        same = self._same_file(key, sha256, size, content_type)
        if same is None and immutable and self._path(key).is_file():
            refuse_overwrite(self.location(key), self.stat(key), sha256, size)
        return same

    def put_file(
        self,
        key: str,
        path: Path,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        cache_control: str | None = None,
        immutable: bool = False,
    ) -> StoredObject:
        """Copy `path` to `key` unless the file there is identical.

        Metadata and Cache-Control are checked and accepted for API parity but a folder keeps
        neither: `stat` recomputes the sha256 on demand instead.
        """
        target = self._path(key)
        content_type = content_type or guess_content_type(key)
        try:
            sha256, size = sha256_and_size(Path(path))
            object_metadata(key, metadata, sha256)
            same = self._reuse(key, sha256, size, content_type, immutable)
            if same is not None:
                return same
            with Path(path).open("rb") as source:
                return self._write(key, target, source, content_type)
        except StoreError:
            raise
        except OSError as exc:
            raise StoreError(
                f"could not read local file {path} to store as {key!r} in {self.url} "
                f"({exc.strerror}); check that the file exists and is readable"
            ) from exc

    def put_bytes(
        self,
        key: str,
        data: bytes,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        *,
        cache_control: str | None = None,
        immutable: bool = False,
    ) -> StoredObject:
        """Write `data` to `key` atomically, unless the file there is identical."""
        sha256 = hashlib.sha256(data).hexdigest()
        object_metadata(key, metadata, sha256)
        same = self._reuse(key, sha256, len(data), content_type, immutable)
        if same is not None:
            return same
        return self._write(key, self._path(key), io.BytesIO(data), content_type)

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        """An exclusive lock on `key`'s folder between processes on this machine (flock on the
        folder itself: no lock file is left behind)."""
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target.parent, os.O_RDONLY)
        except OSError as exc:
            raise StoreError(
                f"could not lock key {key!r} in local store {self.url} ({exc.strerror}); "
                "check that the folder is writable"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def replace(
        self,
        key: str,
        data: bytes,
        content_type: str,
        expected_sha256: str | None,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject:
        """Compare and swap under a lock: the new file is renamed over the old one only while
        the old one still holds `expected_sha256` (None: while there is none)."""
        sha256 = hashlib.sha256(data).hexdigest()
        object_metadata(key, metadata, sha256)
        with self._locked(key):
            found = self.stat(key)
            current = found.sha256 if found is not None else None
            if current != expected_sha256:
                raise conflict(self.location(key), expected_sha256, current)
            if current == sha256:
                return StoredObject(key, len(data), sha256, content_type, uploaded=False)
            return self._write(key, self._path(key), io.BytesIO(data), content_type)

    def stat(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            sha256, size = sha256_and_size(path)
        except OSError as exc:
            raise StoreError(
                f"could not read key {key!r} from local store {self.url} ({exc.strerror}); check the file permissions"
            ) from exc
        return ObjectInfo(key, size, sha256, guess_content_type(key), cache_control_for(key))

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(
                f"could not delete key {key!r} from local store {self.url} ({exc.strerror}); "
                "check the folder permissions"
            ) from exc
        # Drop folders the delete emptied, never the root itself.
        folder = path.parent
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    def link(self, key: str, expires_in: int = DEFAULT_LINK_EXPIRY_S) -> str:
        """A file:// URL (local files need no signature and do not expire)."""
        return self._path(key).as_uri()

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise StoreError(f"no object {key!r} in local store {self.url}; check the key or write it first") from exc
        except OSError as exc:
            raise StoreError(
                f"could not read key {key!r} from local store {self.url} ({exc.strerror}); check the file permissions"
            ) from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def last_modified(self, key: str) -> datetime | None:
        try:
            return datetime.fromtimestamp(self._path(key).stat().st_mtime, UTC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(
                f"could not read key {key!r} from local store {self.url} ({exc.strerror}); check the file permissions"
            ) from exc

    def list_keys(self, prefix: str = "") -> list[str]:
        """Sorted keys starting with `prefix` (a plain string prefix, as in S3)."""
        keys: list[str] = []
        for folder, _dirs, files in os.walk(self.root):
            rel = Path(folder).relative_to(self.root)
            for name in files:
                if name.endswith(TMP_SUFFIX):
                    continue
                key = (rel / name).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)
