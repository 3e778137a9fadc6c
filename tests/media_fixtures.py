"""Footage for the tests: real shared recordings when ../shared/media exists, project-made
French speech (espeak-ng) otherwise, plus deliberately broken inputs."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from touktouk.demo import DEMO_TEXT, make_demo_footage

ROOT = Path(__file__).resolve().parents[1]
SHARED_MEDIA = Path(os.environ.get("TOUKTOUK_SHARED_MEDIA", ROOT.parent / "shared" / "media"))
FLEURS = ("fleurs-fr-001", "fleurs-fr-003", "fleurs-fr-007", "fleurs-fr-009")


@dataclass(frozen=True)
class Footage:
    path: Path
    reference: str  # what is said, for WER
    origin: str  # "shared" or "project"


def have_shared(*names: str) -> bool:
    return all((SHARED_MEDIA / n).is_file() for n in names)


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", *args], check=True)


def fleurs_episode(out: Path, gap: float = 1.0) -> Footage:
    """The four French FLEURS clips, one after another with a short pause, over a test picture."""
    inputs: list[str] = []
    filters = []
    for i, name in enumerate(FLEURS):
        inputs += ["-i", str(SHARED_MEDIA / f"{name}.ogg")]
        filters.append(f"[{i}:a]aresample=48000,apad=pad_dur={gap}[a{i}]")
    concat = "".join(f"[a{i}]" for i in range(len(FLEURS)))
    graph = ";".join(filters) + f";{concat}concat=n={len(FLEURS)}:v=0:a=1[a]"
    ffmpeg(
        *inputs,
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=640x360:r=25",
        "-filter_complex",
        graph,
        "-map",
        f"{len(FLEURS)}:v",
        "-map",
        "[a]",
        "-shortest",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-ac",
        "2",
        str(out),
    )
    ref = " ".join((SHARED_MEDIA / f"{n}.txt").read_text(encoding="utf-8").strip() for n in FLEURS)
    return Footage(out, ref, "shared")


def espeak_episode(out: Path) -> Footage:
    """Project-made French speech: the demo interview read by espeak-ng."""
    make_demo_footage(out, width=640, height=360)
    return Footage(out, DEMO_TEXT, "project")


def french_episode(out: Path) -> Footage:
    return fleurs_episode(out) if have_shared(*(f"{n}.ogg" for n in FLEURS)) else espeak_episode(out)


def talking_head(out_dir: Path) -> Footage:
    """physicsworks.webm (VP9 + 6-channel Opus) when shared, else a project-made 5.1 file."""
    if have_shared("physicsworks.webm"):
        return Footage(SHARED_MEDIA / "physicsworks.webm", "", "shared")
    speech = out_dir / "speech.mp4"
    make_demo_footage(speech, width=320, height=240)
    out = out_dir / "talking-head-51.webm"
    ffmpeg(
        "-i",
        str(speech),
        "-af",
        "pan=5.1|FL=c0|FR=c1|FC=c0|LFE=c1|BL=c0|BR=c1",
        "-c:v",
        "libvpx-vp9",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-c:a",
        "libopus",
        str(out),
    )
    return Footage(out, DEMO_TEXT, "project")


def not_media(out: Path) -> Path:
    out.write_text("ceci n'est pas une vidéo\n", encoding="utf-8")
    return out


def silent_video(out: Path) -> Path:
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-c:v", "libx264", "-preset", "ultrafast", str(out))
    return out
