"""Footage for the tests: real shared recordings when ../shared/media exists, project-made
French speech (espeak-ng) otherwise, plus deliberately broken inputs."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

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


# --- Real shoots: two speakers on their own mics, cameras that hear both (sync by sound) ---

SHOOT_RATE = 48000
# The conversation: host and guest take turns (FLEURS: four different native French speakers;
# the host reads 001 and 007, the guest 003 and 009).
CONVERSATION = (("host", "fleurs-fr-001"), ("guest", "fleurs-fr-003"), ("host", "fleurs-fr-007"),
                ("guest", "fleurs-fr-009"))  # fmt: skip
# Without the shared media: espeak-ng voices (a low male voice, a higher female one) say the demo.
ESPEAK_TURNS = (
    ("host", "Bonjour et bienvenue dans ToukTouk. Aujourd'hui, nous rencontrons Awa Diallo, fondatrice "
             "de la Ressourcerie du Canal. Awa, pourquoi avoir créé une ressourcerie ?"),
    ("guest", "Parce que chaque semaine, des tonnes d'objets encore utiles finissent à la benne. Nous les "
              "collectons, nous les réparons, et nous les revendons à petit prix dans le quartier."),
    ("host", "Combien de personnes travaillent avec vous aujourd'hui ? Et que conseillez-vous à quelqu'un "
             "qui veut se lancer dans l'économie sociale et solidaire ?"),
    ("guest", "Nous sommes vingt-deux salariés, dont quinze en parcours d'insertion. Commencez petit, parlez "
              "à vos voisins, et ne restez jamais seul."),
)  # fmt: skip
ESPEAK_VOICES = {"host": ("fr", "35"), "guest": ("fr+f3", "70")}


def decode_pcm(path: Path, rate: int = SHOOT_RATE) -> Any:
    """A file's sound as mono float32 samples (numpy)."""
    import numpy as np

    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(rate), "-f", "f32le", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.float32).copy()


def write_wav(samples: Any, out: Path, rate: int = SHOOT_RATE) -> Path:
    """Mono float samples as a 24-bit WAV (a recorder's file)."""
    import numpy as np

    raw = out.with_suffix(".f32")
    raw.write_bytes(np.asarray(samples, dtype=np.float32).tobytes())
    ffmpeg("-f", "f32le", "-ar", str(rate), "-ac", "1", "-i", str(raw), "-c:a", "pcm_s24le", str(out))
    raw.unlink()
    return out


def _turn_sounds(work: Path) -> tuple[list[tuple[str, Any]], str]:
    if have_shared(*(f"{n}.ogg" for _, n in CONVERSATION)):
        return [(who, decode_pcm(SHARED_MEDIA / f"{n}.ogg")) for who, n in CONVERSATION], "shared"
    turns = []
    for i, (who, text) in enumerate(ESPEAK_TURNS):
        voice, pitch = ESPEAK_VOICES[who]
        wav = work / f"turn{i}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-p", pitch, "-s", "150", "-w", str(wav), text], check=True)
        turns.append((who, decode_pcm(wav)))
    return turns, "project"


def conversation(work: Path, gap: float = 0.6) -> tuple[Any, Any, str]:
    """(host mic, guest mic, origin): the two mics of one interview, same length, 48 kHz; each mic
    hears its own speaker, and the other faintly (bleed)."""
    host, guest, _, origin = conversation_turns(work, gap)
    return host, guest, origin


def conversation_turns(
    work: Path, gap: float = 0.6, *, bleed: float = 0.08, guest_gain: float = 1.0, hiss: float = 0.0
) -> tuple[Any, Any, list[tuple[str, float, float]], str]:
    """`conversation` with its truth: (host mic, guest mic, [(speaker, start s, end s)] of each
    turn as recorded, origin). `bleed`: the other voice's level on a mic (0.08 = -22 dB);
    `guest_gain`: the guest mic's gain against the host's; `hiss`: each mic's own noise (RMS, before the gain)."""
    import numpy as np

    turns, origin = _turn_sounds(work)
    pause = np.zeros(int(gap * SHOOT_RATE), dtype=np.float32)
    lead = np.zeros(int(1.0 * SHOOT_RATE), dtype=np.float32)
    host, guest = [lead], [lead]
    truth, at = [], len(lead)
    for who, sound in turns:
        host += [sound if who == "host" else bleed * sound, pause]
        guest += [sound if who == "guest" else bleed * sound, pause]
        hop = SHOOT_RATE // 50  # 20 ms frames; voiced: within 30 dB of the loudest
        rms = np.sqrt(np.mean(sound[: len(sound) // hop * hop].reshape(-1, hop) ** 2, axis=1))
        voiced = np.flatnonzero(rms > rms.max() * 10 ** (-30 / 20))
        truth.append((who, (at + voiced[0] * hop) / SHOOT_RATE, (at + (voiced[-1] + 1) * hop) / SHOOT_RATE))
        at += len(sound) + len(pause)
    h, g = np.concatenate(host), np.concatenate(guest)
    if hiss:  # the mics' own noise, before their gain
        rng = np.random.default_rng(7)
        h, g = h + hiss * rng.standard_normal(len(h)), g + hiss * rng.standard_normal(len(g))
    return h.astype(np.float32), (guest_gain * g).astype(np.float32), truth, origin


def camera_scratch(host: Any, guest: Any, offset: float, drift_ppm: float, seconds: float, seed: int = 0) -> Any:
    """What a camera's own mic records: the room (both voices at other levels, an early reflection,
    hiss), on the camera's clock: its sample at camera time t is the timeline's at
    offset + t / (1 + drift), over `seconds` of camera time (resampled: the drift is real)."""
    import numpy as np

    room = 0.45 * host + 0.3 * guest
    echo = int(0.011 * SHOOT_RATE)
    room[echo:] += 0.35 * room[:-echo].copy()
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SHOOT_RATE)) / SHOOT_RATE
    timeline = offset + t / (1 + drift_ppm * 1e-6)
    y = np.interp(timeline * SHOOT_RATE, np.arange(len(room)), room, left=0.0, right=0.0)
    return (y + 0.01 * rng.standard_normal(len(y))).astype(np.float32)


def camera_files(
    scratch: Any, out_dir: Path, stem: str, *, split_at: float | None = None, ext: str = ".MOV",
    rate: int = 25, size: str = "320x180", timecode: str = "10:00:00:00", audio_codec: str = "pcm_s16le",
) -> list[Path]:  # fmt: skip
    """A camera's recording of `scratch` under a test picture, as the camera writes it: one file,
    or two card-split parts at `split_at` seconds (a whole frame; each part its own file, H.264 with
    a keyframe a second, continuous timecode). Each picture's frame number is burned in."""
    out_dir.mkdir(parents=True, exist_ok=True)
    wav = write_wav(scratch, out_dir / f"{stem}-scratch.wav")
    total = int(len(scratch) / SHOOT_RATE * rate)
    cuts = [0, total] if split_at is None else [0, round(split_at * rate), total]
    per_frame = SHOOT_RATE // rate
    start_tc = sum(int(x) * m for x, m in zip(timecode.split(":"), (3600 * rate, 60 * rate, rate, 1), strict=True))
    paths = []
    for n, (a, b) in enumerate(pairwise(cuts), 1):
        f = start_tc + a
        tc = f"{f // (3600 * rate):02d}:{f // (60 * rate) % 60:02d}:{f // rate % 60:02d}:{f % rate:02d}"
        out = out_dir / f"{stem}{n:04d}{ext}"
        graph = (
            f"nullsrc=s=48x16:r={rate}:d={total / rate + 1},format=yuv420p,geq=lum={FRAME_CODE}:cb=128:cr=128[code];"
            f"[0:v][code]overlay=0:0,trim=start_frame={a}:end_frame={b},setpts=PTS-STARTPTS[v];"
            f"[1:a]atrim=start_sample={a * per_frame}:end_sample={b * per_frame},asetpts=PTS-STARTPTS[a]"
        )
        ffmpeg(
            "-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={total / rate + 1}", "-i", str(wav),
            "-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast",
            "-g", str(rate), "-pix_fmt", "yuv420p", "-c:a", audio_codec, "-timecode", tc, str(out),
        )  # fmt: skip
        paths.append(out)
    wav.unlink()
    return paths


# Each camera frame carries its number in three 16x16 grey blocks at the top left (base 16 digits,
# luma 32 + 12 x digit: far enough apart to survive a CRF 30 encode), so a test can tell which
# camera frame a conformed frame shows (up to 4096 frames: 2 min 43 s at 25 fps).
FRAME_CODE = "'32+12*mod(floor(N/pow(16,floor(X/16))),16)'"


def frame_numbers(path: Path) -> list[int]:
    """The camera frame number each frame of `path` shows (-1 where no code: black padding)."""
    import numpy as np

    info = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
         "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True,
    ).stdout.strip().split(",")  # fmt: skip
    w, h = int(info[0]), int(info[1])
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "gray",
         "pipe:1"], capture_output=True, check=True,
    ).stdout  # fmt: skip
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, h, w)[:, 4:12, :48].astype(np.float64)
    numbers = []
    for f in frames:
        blocks = [f[:, 16 * i + 4 : 16 * i + 12].mean() for i in range(3)]
        if max(blocks) < 8:  # black padding (the code's lowest luma reads as 19 in full-range grey)
            numbers.append(-1)
            continue
        digits = [min(15, max(0, round((b * 219 / 255 - 16) / 12))) for b in blocks]
        numbers.append(digits[0] + 16 * digits[1] + 256 * digits[2])
    return numbers


@dataclass(frozen=True)
class ShootFixture:
    folder: Path  # the episode folder: episode.toml beside A001/, B001/, audio/
    episode: Path
    truth: dict[str, tuple[float, float]]  # camera → (offset_s, drift_ppm)
    duration: float  # of the timeline (the mics)
    origin: str
    turns: list[tuple[str, float, float]]  # (speaker, start s, end s) of each turn, on the timeline


SHOOT_TOML = """season = 1
number = 7
slug = "{slug}"
title = "Un tournage à deux caméras"
guest = "Awa Diallo"

[speakers]
host = "Camille Martin"

[[shoot.cameras]]
name = "host-cam"
files = ["A001/C0001.MOV", "A001/C0002.MOV"]
shows = ["host"]

[[shoot.cameras]]
name = "wide"
files = ["B001/WIDE0001.MP4"]
shows = ["host", "guest"]

[[shoot.mics]]
speaker = "host"
file = "audio/host.wav"

[[shoot.mics]]
speaker = "guest"
file = "audio/guest.wav"
"""


def make_shoot(folder: Path, slug: str = "tournage-deux-cameras") -> ShootFixture:
    """A two-camera interview shoot: the host's camera split on its card into two parts, started
    4.25 s before the mics with a clock 145 ppm fast; a wide camera (AAC sound, one file) started
    3.7 s after them, 145 ppm slow. Two mics (host, guest) make the timeline."""
    folder.mkdir(parents=True, exist_ok=True)
    host, guest, turns, origin = conversation_turns(folder)
    duration = len(host) / SHOOT_RATE
    (folder / "audio").mkdir(exist_ok=True)
    write_wav(host, folder / "audio" / "host.wav")
    write_wav(guest, folder / "audio" / "guest.wav")
    truth = {"host-cam": (-4.25, 145.0), "wide": (3.7, -145.0)}
    off, ppm = truth["host-cam"]
    scratch = camera_scratch(host, guest, off, ppm, (duration - off + 1.0) * (1 + ppm * 1e-6), seed=1)
    half = round((len(scratch) / SHOOT_RATE) / 2)  # whole seconds: a keyframe
    camera_files(scratch, folder / "A001", "C", split_at=half)
    off, ppm = truth["wide"]
    scratch = camera_scratch(host, guest, off, ppm, (duration - off - 2.0) * (1 + ppm * 1e-6), seed=2)
    camera_files(scratch, folder / "B001", "WIDE", ext=".MP4", audio_codec="aac")
    episode = folder / "episode.toml"
    episode.write_text(SHOOT_TOML.format(slug=slug), encoding="utf-8")
    return ShootFixture(folder, episode, truth, duration, origin, turns)


# --- One mixed track, several voices: who speaks when from the voices alone (diarization) ---

VOICE_RATE = 16000
# Three different voices: FLEURS 001 and 007 are read by one person (their voice embeddings are as
# close as two halves of one clip: cosine distance 0.05-0.10, against 0.26-0.46 between the others).
FLEURS_VOICES = ("fleurs-fr-001", "fleurs-fr-003", "fleurs-fr-009")
ESPEAK_VOICE_SET = (("fr", "35"), ("fr+f3", "70"), ("fr+m3", "50"), ("fr+f1", "60"))


def _voiced_span(samples: Any, rate: int) -> tuple[int, int]:
    import numpy as np

    hop = rate // 50
    rms = np.sqrt(np.mean(samples[: len(samples) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    voiced = np.flatnonzero(rms > rms.max() * 10 ** (-30 / 20))
    return int(voiced[0] * hop), int((voiced[-1] + 1) * hop)


def _halves(samples: Any, rate: int) -> tuple[Any, Any]:
    """A recording cut in two at its quietest 100 ms between 40 % and 60 % of its length."""
    import numpy as np

    hop = rate // 10
    n = len(samples) // hop
    energy = np.array([np.mean(samples[i * hop : (i + 1) * hop] ** 2) for i in range(n)])
    lo, hi = int(0.4 * n), max(int(0.4 * n) + 1, int(0.6 * n))
    cut = (lo + int(np.argmin(energy[lo:hi]))) * hop + hop // 2
    return samples[:cut], samples[cut:]


def voice_mix(work: Path, speakers: int = 2, gap: float = 0.5) -> tuple[Path, list[tuple[str, float, float]], str]:
    """(16 kHz mono WAV, [(voice, start s, end s)] of each turn, origin): `speakers` different
    people (1 to 3) taking turns on one mixed track, each speaking twice (their recording cut in two
    at a pause): A B (C) A B (C). Real French speech (FLEURS: three different voices), or espeak-ng
    voices without the shared media. `speakers=1`: one person, the same turns."""
    import numpy as np

    names = [chr(ord("A") + i) for i in range(speakers)]
    if have_shared(*(f"{n}.ogg" for n in FLEURS_VOICES[:speakers])):
        sounds, origin = [decode_pcm(SHARED_MEDIA / f"{n}.ogg", VOICE_RATE) for n in FLEURS_VOICES[:speakers]], "shared"
    else:
        sounds, origin = [], "project"
        text = " ".join(t for _, t in ESPEAK_TURNS[:2])
        for i in range(speakers):
            voice, pitch = ESPEAK_VOICE_SET[i]
            wav = work / f"voice{i}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-p", pitch, "-s", "150", "-w", str(wav), text], check=True)
            sounds.append(decode_pcm(wav, VOICE_RATE))
    parts = [_halves(s, VOICE_RATE) for s in sounds]
    order = [(names[i], parts[i][0]) for i in range(speakers)] + [(names[i], parts[i][1]) for i in range(speakers)]
    pause = np.zeros(int(gap * VOICE_RATE), dtype=np.float32)
    track, truth, at = [pause], [], len(pause)
    for who, sound in order:
        a, b = _voiced_span(sound, VOICE_RATE)
        truth.append((who, (at + a) / VOICE_RATE, (at + b) / VOICE_RATE))
        track += [sound, pause]
        at += len(sound) + len(pause)
    mixed = np.concatenate(track)
    mixed = mixed + 0.0003 * np.random.default_rng(11).standard_normal(len(mixed))
    out = write_wav(mixed, work / f"mix-{speakers}.wav", rate=VOICE_RATE)
    return out, truth, origin
