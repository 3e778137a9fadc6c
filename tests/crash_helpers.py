"""Test helper: `touktouk publish` in its own process group, killed with SIGKILL at a point
observed from outside (its output, its ffmpeg children, or a request the proxy holds).

Not a test module.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from faultproxy import FaultProxy, Seen

# --- a proxy that can hold one request while the test kills the client ---------------------


class HoldingProxy(FaultProxy):
    """The counting proxy, plus `hold`: once the server has stored the first PUT whose path ends
    with `suffix`, its answer waits until `release`. The test kills the publish meanwhile, so the
    object is complete in the store but the publish never learnt it."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self._suffix: str | Callable[[str], bool] | None = None
        self.reached = threading.Event()
        self._released = threading.Event()

    def hold(self, suffix: str | Callable[[str], bool]) -> None:
        self._suffix = suffix
        self.reached.clear()
        self._released.clear()

    def release(self) -> None:
        self._suffix = None
        self._released.set()

    def _record(self, seen: Seen) -> None:
        super()._record(seen)
        suffix = self._suffix
        matches = suffix(seen.path) if callable(suffix) else bool(suffix) and seen.path.endswith(suffix)
        if suffix and seen.forwarded and seen.method == "PUT" and matches:
            self.reached.set()
            self._released.wait(120)


# --- the `touktouk publish` process ----------------------------------------------------------


class Publish:
    """`touktouk publish` in its own process group, its output collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "touktouk.cli", "publish", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # the group holds ffmpeg children too
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def saw(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def kill_when(self, reached: Callable[[], bool], what: str, timeout: float = 300) -> None:
        """SIGKILL the whole process group as soon as `reached()` is true."""
        deadline = time.monotonic() + timeout
        while not reached():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"publish ended (exit {self.proc.returncode}) before {what}:\n{self.output[-4000:]}"
                )
            if time.monotonic() > deadline:
                os.killpg(self.proc.pid, signal.SIGKILL)
                raise AssertionError(f"no {what} within {timeout:.0f} s:\n{self.output[-4000:]}")
            time.sleep(0.02)
        os.killpg(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(30) == -signal.SIGKILL
        self._reader.join(10)

    def wait_ok(self, timeout: float = 300) -> str:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise AssertionError(f"publish still running after {timeout:.0f} s:\n{self.output[-4000:]}") from None
        self._reader.join(10)
        assert code == 0, self.output[-4000:]
        return self.output

    def rendering(self) -> bool:
        """True while an ffmpeg child is writing the clip's 1080x1920 file."""
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return False
        for child in children:
            try:
                cmd = child.cmdline()
            except psutil.Error:
                continue
            if cmd and Path(cmd[0]).name == "ffmpeg" and any(a.endswith("1080x1920.mp4") for a in cmd):
                return True
        return False


# --- the re-publish scenario (tests/test_crash_republish_*.py) ---------------------------------

EPISODE_V1 = """
season = 1
number = 8
slug = "reprise"
title = "Avant la reprise"

[[picks]]
start = 1
end = 4.5
title = "Bienvenue"
"""
# The re-publish: one more pick, and a caption setting changed (so every clip's captions change).
EPISODE_V2 = (
    EPISODE_V1
    + """
[[picks]]
start = 5
end = 9
title = "La suite"
"""
)
CAPTIONS_V2 = "\n[captions]\nmax_cps = 12\n"
REPUBLISH_PREFIX = "touktouk/s01/e08-reprise"


def short_speech(folder: Path) -> Path:
    """About 10 s of French speech over a small test picture (a FLEURS clip, or espeak-ng)."""
    from media_fixtures import SHARED_MEDIA, espeak_episode, ffmpeg, have_shared

    if not have_shared("fleurs-fr-003.ogg"):
        return espeak_episode(folder / "episode.mp4").path
    out = folder / "episode.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25", "-i", str(SHARED_MEDIA / "fleurs-fr-003.ogg"), "-shortest",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", str(out),
    )  # fmt: skip
    return out


def sha256_hex(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def check_live(read: Callable[[str], bytes | None], expected: bytes | None = None) -> dict:
    """The live manifest (equal to `expected` when given) and every object it lists, each
    matching its SHA-256 and size."""
    import json

    body = read(f"{REPUBLISH_PREFIX}/manifest.json")
    assert body is not None, "the episode has no live manifest"
    if expected is not None:
        assert body == expected, "the live manifest changed"
    manifest = json.loads(body)
    for obj in manifest["objects"]:
        data = read(obj["key"])
        assert data is not None, f"{obj['key']} (listed by the live manifest) is gone"
        assert (len(data), sha256_hex(data)) == (obj["bytes"], obj["sha256"]), f"{obj['key']} changed"
    return manifest


def without_date(manifest: dict) -> dict:
    return {k: v for k, v in manifest.items() if k != "generated_at"}


class Republish:
    """The files and environment of the re-publish scenario: a first publish (EPISODE_V1), then
    `change()` (EPISODE_V2, CAPTIONS_V2 and a new transcript cache, so it transcribes again)."""

    def __init__(self, tmp: Path, prefect_api: str, store: str, **env: str) -> None:
        from pipeline_helpers import write_series

        self.tmp, self.store = tmp, store
        self.footage = short_speech(tmp)
        self.series = write_series(tmp / "touktouk.toml", store=store, auto_clips=0, platforms=("youtube_shorts",))
        self.episode = tmp / "episode.toml"
        self.episode.write_text(EPISODE_V1, encoding="utf-8")
        self.env = {
            **os.environ,
            "PREFECT_API_URL": prefect_api,
            "PREFECT_HOME": str(tmp / "prefect-home"),  # the client's task result cache
            "TOUKTOUK_CACHE_DIR": str(tmp / "transcripts-1"),
            "TMPDIR": str(tmp),  # work folders a killed run cannot remove stay in the test's folder
            **env,
        }

    def publish(self, series: Path | None = None) -> Publish:
        args = [str(self.footage), "--episode", str(self.episode), "--config", str(series or self.series)]
        return Publish(args, self.env, self.tmp)

    def kill_while_transcribing_then_rendering(self, check: Callable[[], object]) -> None:
        """Two publishes, one killed during transcription, one during a clip render; `check()` after each."""
        run = self.publish()
        run.kill_when(lambda: run.saw("Transcribing:"), "transcription")
        check()
        run = self.publish()
        run.kill_when(run.rendering, "a clip render")
        check()

    def change(self) -> None:
        self.episode.write_text(EPISODE_V2, encoding="utf-8")
        self.series.write_text(self.series.read_text(encoding="utf-8") + CAPTIONS_V2, encoding="utf-8")
        self.env["TOUKTOUK_CACHE_DIR"] = str(self.tmp / "transcripts-2")

    def publish_fresh(self, store: str) -> None:
        """The same (changed) inputs published into another, empty store."""
        fresh = self.tmp / "fresh.toml"
        fresh.write_text(self.series.read_text(encoding="utf-8").replace(self.store, store), encoding="utf-8")
        self.publish(fresh).wait_ok()
