"""The bad-input catalogue (issue 6, item 6): footage and settings a producer really sends.

Refused inputs end the `touktouk publish` command with one clear sentence (the file, the problem,
the fix), no traceback and nothing stored. Accepted inputs are published correctly. Footage is
tiny (320x240, a few seconds of espeak-ng French) and only one short producer pick is rendered.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from media_fixtures import ffmpeg
from pipeline_helpers import load_json, write_episode, write_series
from test_cli import assert_clean_error, run_cli
from touktouk.render.probe import extract_audio, probe, stream_summary
from touktouk.render.stills import grab_frame

SPEECH = (
    "Bonjour et bienvenue dans ToukTouk. Aujourd'hui, nous rencontrons Awa Diallo, "
    "fondatrice de la Ressourcerie du Canal à Paris."
)
PICK = '[[picks]]\nstart = 0\nend = 4\ntitle = "Bienvenue"\n'
PLATFORM = "youtube_shorts"  # 1 s minimum: a 4 s pick is enough
# The CLI starts a temporary Prefect server (20 s allowed by default): give a busy machine longer.
SLOW_SERVER = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}


# --- footage makers ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "fr", "-s", "150", "-w", str(out), SPEECH], check=True, capture_output=True)
    return out


def speech_video(
    speech: Path, out: Path, *, picture: str = "testsrc2=s=320x240:r=25", extra: tuple[str, ...] = ()
) -> Path:
    ffmpeg(
        "-f", "lavfi", "-i", picture, "-i", str(speech), "-shortest",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-ac", "2", "-ar", "48000", *extra, str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def speech_mp4(speech_wav: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speech_video(speech_wav, tmp_path_factory.mktemp("base") / "speech.mp4")


# --- the flow, in-process ---------------------------------------------------------------------


def publish_flow(tmp_path: Path, footage: Path, slug: str) -> tuple[dict, Path]:
    from touktouk.orchestration.flow import publish_episode

    store = tmp_path / "store"
    series = write_series(tmp_path / "series.toml", store=str(store), auto_clips=0, platforms=(PLATFORM,))
    episode = write_episode(tmp_path / "episode.toml", slug=slug, picks=PICK, vocabulary=False)
    location = publish_episode(str(footage), episode=str(episode), store=str(store), config=str(series))
    manifest_path = store / "touktouk" / "s01" / f"e07-{slug}" / "manifest.json"
    assert Path(location) == manifest_path or location.endswith(str(manifest_path)), location
    return load_json(manifest_path.read_bytes()), store


def only_clip(manifest: dict, store: Path) -> Path:
    assert len(manifest["clips"]) == 1, manifest["clips"]
    clip = manifest["clips"][0]
    assert clip["source"] != "auto"
    out = store / clip["outputs"][0]["key"]
    assert out.is_file()
    return out


def streams(path: Path) -> tuple[dict, dict]:
    s = stream_summary(path)["streams"]
    return next(x for x in s if x["codec_type"] == "video"), next(x for x in s if x["codec_type"] == "audio")


# --- refused, through the CLI -----------------------------------------------------------------


def test_zero_byte_file_is_refused(tmp_path: Path) -> None:
    footage = tmp_path / "vide.mp4"
    footage.write_bytes(b"")
    store = tmp_path / "store"
    result = run_cli("publish", str(footage), "--store", str(store), cwd=tmp_path)
    assert_clean_error(result, str(footage), "empty (0 bytes)", "copy")
    assert not store.exists()


def test_truncated_mp4_is_refused(tmp_path: Path, speech_mp4: Path) -> None:
    data = speech_mp4.read_bytes()
    assert data.find(b"moov") > len(data) // 2, "the fixture must keep its moov at the end"
    footage = tmp_path / "coupé.mp4"
    footage.write_bytes(data[: len(data) // 2])
    store = tmp_path / "store"
    result = run_cli("publish", str(footage), "--store", str(store), cwd=tmp_path)
    assert_clean_error(result, str(footage), "truncated", "copy the file again")
    assert not store.exists()


@pytest.mark.slow
def test_silence_only_is_refused_before_any_upload(tmp_path: Path) -> None:
    footage = tmp_path / "silence.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=10", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo",
        "-t", "10", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(footage),
    )  # fmt: skip
    store = tmp_path / "store"
    series = write_series(tmp_path / "series.toml", store=str(store), auto_clips=0, platforms=(PLATFORM,))
    result = run_cli(
        "publish", str(footage), "--config", str(series), cwd=tmp_path,
        env={"TOUKTOUK_CACHE_DIR": str(tmp_path / "cache"), **SLOW_SERVER},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    error = next(line for line in result.stderr.splitlines() if line.startswith("Error:"))
    message = " ".join(result.stderr[result.stderr.index(error) :].split())
    assert str(footage) in message and "no speech found" in message, message
    assert not store.exists()


def test_unknown_platform_is_refused(tmp_path: Path, speech_mp4: Path) -> None:
    series = write_series(tmp_path / "series.toml", store=str(tmp_path / "store"), platforms=("myspace",))
    result = run_cli("publish", str(speech_mp4), "--config", str(series), cwd=tmp_path)
    assert_clean_error(result, str(series), "myspace", "choose from", "tiktok")
    assert not (tmp_path / "store").exists()


def test_unreachable_store_fails_fast_naming_the_store(tmp_path: Path, speech_mp4: Path) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }
    result = run_cli("publish", str(speech_mp4), "--store", "s3://touktouk-test/shows", cwd=tmp_path, env=env)
    assert_clean_error(result, "s3://touktouk-test/shows", "cannot be reached", "AWS_ENDPOINT_URL")


def test_invalid_episode_toml_is_refused(tmp_path: Path, speech_mp4: Path) -> None:
    episode = tmp_path / "episode.toml"
    episode.write_text('season = 1\nnumber = 7\nslug = "awa-diallo\ntitle = "Awa"\n', encoding="utf-8")
    store = tmp_path / "store"
    result = run_cli("publish", str(speech_mp4), "--episode", str(episode), "--store", str(store), cwd=tmp_path)
    assert_clean_error(result, str(episode), "not valid TOML", "line 3", "fix the syntax")
    assert not store.exists()


def _published_from(footage: Path, series_file: Path, episode_file: Path) -> dict[str, tuple[int, int]]:
    """Put `footage` in the store as the master of an episode and write its manifest (the real
    builder); returns every stored file with its inode and mtime, to prove nothing changes."""
    from touktouk.config import load_episode, load_series
    from touktouk.hashing import file_sha256
    from touktouk.publish.manifest import build_manifest, to_json
    from touktouk.store.keys import episode_prefix, manifest_key, master_key
    from touktouk.store.url import open_store

    series, episode = load_series(series_file), load_episode(episode_file)
    store = open_store(series.store)
    prefix = episode_prefix(series, episode)
    master = store.put_file(master_key(prefix, footage.suffix, file_sha256(footage)), footage)
    data = build_manifest(
        series=series, episode=episode, source={"key": master.key}, transcript={}, clips=[], metadata={},
        objects=[master],
    )  # fmt: skip
    store.put_bytes(manifest_key(prefix), to_json(data), "application/json")
    root = Path(series.store)
    return {str(p): (p.stat().st_ino, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def test_duplicate_slug_with_other_footage_is_refused_before_any_upload(tmp_path: Path, speech_mp4: Path) -> None:
    store = tmp_path / "store"
    series = write_series(tmp_path / "series.toml", store=str(store), auto_clips=0, platforms=(PLATFORM,))
    episode = write_episode(tmp_path / "episode.toml", slug="awa-diallo", picks=PICK, vocabulary=False)
    other = tmp_path / "autre-entretien.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1", "-f", "lavfi", "-i", "sine=d=1", "-c:v", "libx264",
           "-preset", "ultrafast", "-c:a", "aac", str(other))  # fmt: skip
    before = _published_from(other, series, episode)
    result = run_cli("publish", str(speech_mp4), "--episode", str(episode), "--config", str(series), cwd=tmp_path)
    assert_clean_error(
        result, str(speech_mp4), "episode s01e07-awa-diallo is already published from other footage",
        "manifest.json", "choose another slug or number in the episode file", "--replace",
    )  # fmt: skip
    assert result.stderr.count("Error:") == 1
    files = {str(p): (p.stat().st_ino, p.stat().st_mtime_ns) for p in store.rglob("*") if p.is_file()}
    assert files == before, "nothing written to the store"


def test_duplicate_slug_check_lets_the_same_footage_and_replace_through(tmp_path: Path, speech_mp4: Path) -> None:
    from touktouk.errors import ConfigError
    from touktouk.pipeline.inputs import preflight

    store = tmp_path / "store"
    series = write_series(tmp_path / "series.toml", store=str(store), auto_clips=0, platforms=(PLATFORM,))
    episode = write_episode(tmp_path / "episode.toml", slug="awa-diallo", picks=PICK, vocabulary=False)
    _published_from(speech_mp4, series, episode)
    copy = tmp_path / "copie du même fichier.mp4"  # same bytes under another name: the same footage
    shutil.copy(speech_mp4, copy)
    inputs, _ = preflight(str(copy), str(episode), None, str(series))
    assert inputs.episode.slug == "awa-diallo"
    longer = tmp_path / "longer.mp4"
    longer.write_bytes(speech_mp4.read_bytes() + b"\0")  # one byte more: other footage, told by size
    with pytest.raises(ConfigError, match="already published from other footage"):
        preflight(str(longer), str(episode), None, str(series))
    preflight(str(longer), str(episode), None, str(series), replace=True)


def test_check_same_footage_hashes_only_when_sizes_agree() -> None:
    from touktouk.errors import ConfigError
    from touktouk.publish.manifest import check_same_footage

    previous = {
        "episode": {"id": "s01e07-awa"},
        "source": {"key": "k/master/footage.mp4"},
        "objects": [{"key": "k/master/footage.mp4", "bytes": 10, "sha256": "a" * 64}],
    }
    calls: list[int] = []

    def sha(value: str) -> Callable[[], str]:
        return lambda: calls.append(1) or value

    check_same_footage(previous, footage="f.mp4", size=10, sha256=sha("a" * 64), manifest_location="m")
    assert calls == [1]
    with pytest.raises(ConfigError, match=r"^f\.mp4: episode s01e07-awa is already published from other footage \(m\)"):
        check_same_footage(previous, footage="f.mp4", size=11, sha256=sha("a" * 64), manifest_location="m")
    assert calls == [1], "a different size needs no hash"
    with pytest.raises(ConfigError):
        check_same_footage(previous, footage="f.mp4", size=10, sha256=sha("b" * 64), manifest_location="m")
    # Nothing published yet, or a manifest that records no master: nothing to compare.
    check_same_footage(None, footage="f.mp4", size=1, sha256=sha("c"), manifest_location="m")
    check_same_footage({"objects": []}, footage="f.mp4", size=1, sha256=sha("c"), manifest_location="m")


# --- accepted and handled right, through the flow --------------------------------------------


@pytest.mark.slow
def test_audio_only_footage_publishes_transcript_and_clips_over_a_plain_background(
    tmp_path: Path, speech_wav: Path, prefect_harness: None
) -> None:
    footage = tmp_path / "podcast.m4a"
    ffmpeg("-i", str(speech_wav), "-c:a", "aac", "-ac", "2", str(footage))
    manifest, store = publish_flow(tmp_path, footage, "audio-seul")
    for key in manifest["transcript"].values():
        if isinstance(key, str) and key.startswith("touktouk/"):
            assert (store / key).stat().st_size > 0, key
    assert manifest["transcript"]["words"] > 5
    clip = only_clip(manifest, store)
    w, h, raw = grab_frame(clip, 1.0)
    top_left = raw[:3]  # first pixel: the brand background #1B1B2F, not a picture
    assert all(abs(a - b) < 12 for a, b in zip(top_left, (0x1B, 0x1B, 0x2F), strict=True)), top_left
    assert (w, h) == (1080, 1920)


@pytest.mark.slow
def test_variable_frame_rate_is_delivered_constant(tmp_path: Path, speech_wav: Path, prefect_harness: None) -> None:
    footage = speech_video(
        speech_wav,
        tmp_path / "vfr.mp4",
        picture="testsrc2=s=320x240:r=30,select='if(lt(mod(n\\,30)\\,15)\\,1\\,not(mod(n\\,3)))'",
        extra=("-fps_mode", "vfr"),
    )
    assert probe(footage).variable_frame_rate, "the fixture must be variable frame rate"
    manifest, store = publish_flow(tmp_path, footage, "vfr")
    video, _ = streams(only_clip(manifest, store))
    assert Fraction(video["r_frame_rate"]) == Fraction(video["avg_frame_rate"]), video


@pytest.mark.slow
def test_rotated_phone_clip_is_upright(tmp_path: Path, speech_wav: Path, prefect_harness: None) -> None:
    # Upright it is 240x320 with a red top-left quadrant; stored turned a quarter (320x240) with
    # the display matrix a phone writes to turn it back. (`-metadata rotate` only works on a
    # stream copy with ffmpeg 5.1; ffmpeg 6+ has -display_rotation instead.)
    sideways = speech_video(
        speech_wav,
        tmp_path / "sideways.mp4",
        picture="color=c=gray:s=240x320:r=25,drawbox=x=0:y=0:w=120:h=160:c=red:t=fill,transpose=1",
    )
    footage = tmp_path / "phone.mp4"
    ffmpeg("-i", str(sideways), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(footage))
    _, _, upright = grab_frame(footage, 1.0)  # ffmpeg applies the matrix, as players do
    assert upright[(80 * 240 + 60) * 3] > 200, "the fixture shows red top-left once turned"
    info = probe(footage)
    assert (info.width, info.height) == (240, 320) and info.rotation in (90, 270), info
    manifest, store = publish_flow(tmp_path, footage, "telephone")
    clip = only_clip(manifest, store)
    w, h, raw = grab_frame(clip, 1.0)

    def rgb(x: int, y: int) -> tuple[int, ...]:
        i = (y * w + x) * 3
        return tuple(raw[i : i + 3])

    def red(p: tuple[int, ...]) -> bool:
        return p[0] > 150 and p[1] < 90 and p[2] < 90

    # 240x320 covers 1080x1920 at x6 (1440x1920), 180 px cropped each side.
    assert red(rgb(w // 4, h // 4)), rgb(w // 4, h // 4)
    assert (
        not red(rgb(3 * w // 4, h // 4)) and not red(rgb(w // 4, 3 * h // 4)) and not red(rgb(3 * w // 4, 3 * h // 4))
    )


@pytest.mark.slow
def test_surround_audio_is_downmixed_to_stereo(tmp_path: Path, speech_wav: Path, prefect_harness: None) -> None:
    footage = speech_video(
        speech_wav, tmp_path / "surround.mp4", extra=("-af", "pan=5.1|FL=c0|FR=c0|FC=c0|LFE=c0|BL=c0|BR=c0", "-ac", "6")
    )
    assert probe(footage).audio_channels == 6
    manifest, store = publish_flow(tmp_path, footage, "surround")
    assert manifest["transcript"]["words"] > 5, "speech in 5.1 is heard"
    _, audio = streams(only_clip(manifest, store))
    assert audio["channels"] == 2


@pytest.mark.slow
def test_hevc_10_bit_is_delivered_as_8_bit_h264(tmp_path: Path, speech_wav: Path, prefect_harness: None) -> None:
    footage = tmp_path / "hevc10.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25", "-i", str(speech_wav), "-shortest",
        "-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error",
        "-tag:v", "hvc1", "-c:a", "aac", str(footage),
    )  # fmt: skip
    src, _ = streams(footage)
    assert (src["codec_name"], src["pix_fmt"]) == ("hevc", "yuv420p10le")
    manifest, store = publish_flow(tmp_path, footage, "hevc")
    video, _ = streams(only_clip(manifest, store))
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p"), video


@pytest.mark.slow
def test_file_names_with_quotes_colons_spaces_and_accents(tmp_path: Path, speech_mp4: Path) -> None:
    name = "l'entretien: « Awa » n°1.mp4"
    footage = tmp_path / name
    shutil.copy(speech_mp4, footage)
    series = write_series(tmp_path / "series.toml", store="published", auto_clips=0, platforms=(PLATFORM,))
    write_episode(tmp_path / "ep.toml", slug="entretien-awa", picks=PICK, vocabulary=False)
    # Relative, as typed in a terminal, so the name itself reaches ffmpeg.
    result = run_cli(
        "publish", name, "--episode", "ep.toml", "--config", str(series), cwd=tmp_path,
        env={"TOUKTOUK_CACHE_DIR": str(tmp_path / "cache"), **SLOW_SERVER},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = load_json((tmp_path / "published/touktouk/s01/e07-entretien-awa/manifest.json").read_bytes())
    assert only_clip(manifest, tmp_path / "published").stat().st_size > 0


@pytest.mark.parametrize("name", ["entretien:1.mp4", "l'entretien: « Awa » n°1.mp4", "a b.mp4"])
def test_probe_reads_relative_names_ffmpeg_could_take_for_a_protocol(
    tmp_path: Path, speech_mp4: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(speech_mp4, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    info = probe(Path(name))
    assert info.duration > 5
    extract_audio(Path(name), tmp_path / "a.wav")
    from touktouk.config import episode_from_footage

    assert episode_from_footage(Path(name)).slug.isascii()
