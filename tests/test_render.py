"""The render engine (issue 5): one ffmpeg process per clip, every format from one decode, platform
encode presets, two-pass loudness, reframing, logo, bumpers, the episode master and covers.

Real ffmpeg throughout, on small synthetic pictures over real French speech (FLEURS from
../shared/media when present, espeak-ng otherwise); one render checks the real delivery sizes
1080x1920, 1080x1080 and 1920x1080. Loudness is measured independently with ffmpeg's ebur128.
Budget: about 90 s on 2 busy cores.
"""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest

from media_fixtures import SHARED_MEDIA, espeak_episode, ffmpeg, have_shared
from touktouk.config import BrandSettings, SeriesConfig
from touktouk.errors import ConfigError
from touktouk.platforms import PLATFORMS, SOCIAL, X_PRESET, YOUTUBE_MASTER, shared_preset
from touktouk.render.clip import render_clip
from touktouk.render.encode import Branding, EncodeSettings, OutputSpec, branding_from, encode_settings
from touktouk.render.graph import crop_window, frame_filter, plan_branches
from touktouk.render.master import master_copies_video, render_master
from touktouk.render.probe import MediaInfo, probe, stream_summary
from touktouk.render.stills import grab_frame, make_cover, wrap_title

# A white 40x40 box sliding right at 30 px/s over black, 640x360 at 50 fps (above the 30 fps cap).
BOX_X0, BOX_SPEED, BOX = 100, 30, 40
FAST = {"x264_preset": "superfast", "crf": 30}  # superfast still writes H.264 High (CABAC, 8x8 DCT)
LOGO_RGB = (255, 0, 255)


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBFS) as ffmpeg's ebur128 filter measures the file."""
    err = subprocess.run(
        ["ffmpeg", "-nostdin", "-nostats", "-i", str(path), "-map", "0:a", "-af", "ebur128=peak=true",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    summary = err[err.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))  # type: ignore[union-attr]
    return integrated, peak


def top_level_boxes(path: Path) -> list[str]:
    """The MP4 file's top-level box names in order (for +faststart: moov before mdat)."""
    names, data = [], path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size, name = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        names.append(name.decode("latin-1"))
        if size < 8:
            break
        pos += size
    return names


def video_stream(path: Path) -> dict[str, object]:
    return next(s for s in stream_summary(path)["streams"] if s["codec_type"] == "video")


def audio_stream(path: Path) -> dict[str, object]:
    return next(s for s in stream_summary(path)["streams"] if s["codec_type"] == "audio")


def box_centre_x(path: Path, at: float) -> float:
    """Mean x of the bright (white box) pixels of the frame at `at`, as a fraction of the width."""
    w, _, raw = grab_frame(path, at)
    xs = [(i // 3) % w for i in range(0, len(raw), 3) if raw[i] > 200 and raw[i + 1] > 200 and raw[i + 2] > 200]
    assert xs, f"no white box in {path.name} at {at} s"
    return sum(xs) / len(xs) / w


def mean_rgb(path: Path, at: float, x0: int, y0: int, x1: int, y1: int) -> tuple[float, float, float]:
    w, _, raw = grab_frame(path, at)
    px = [raw[(y * w + x) * 3 : (y * w + x) * 3 + 3] for y in range(y0, y1) for x in range(x0, x1)]
    return tuple(sum(p[c] for p in px) / len(px) for c in range(3))  # type: ignore[return-value]


# --- pure parts -------------------------------------------------------------------------------


def test_crop_window_keeps_the_output_aspect_and_clamps_the_reframing_expression() -> None:
    assert crop_window(1920, 1080, 1080, 1920) == (608, 1080)
    assert crop_window(1080, 1920, 1920, 1080) == (1080, 608)
    assert frame_filter(1920, 1080, 1080, 1920) == "crop=w=608:h=1080:x=656:y=0,scale=1080:1920,setsar=1"
    moving = frame_filter(1920, 1080, 1080, 1080, "200+10*t")
    assert "crop=w=1080:h=1080:x='max(0,min(840,200+10*t))':y=0" in moving
    # A portrait source into 16:9: the sides are kept, top and bottom cut (crop_x does not apply).
    assert frame_filter(1080, 1920, 1920, 1080, "5*t").startswith("crop=w=1080:h=608:x=0:y=656")
    assert frame_filter(1279, 721, 1920, 1080, fit="pad").startswith("scale=1920:1080:force_original")


def test_outputs_share_a_branch_only_with_the_same_aspect_reframing_and_captions(tmp_path: Path) -> None:
    ass_v, ass_s = tmp_path / "v.ass", tmp_path / "s.ass"
    outs = [
        OutputSpec(tmp_path / "a.mp4", 720, 1280, subtitles=ass_v),
        OutputSpec(tmp_path / "b.mp4", 1080, 1920, subtitles=ass_v),
        OutputSpec(tmp_path / "c.mp4", 1080, 1080, subtitles=ass_s),
        OutputSpec(tmp_path / "d.mp4", 1080, 1920, subtitles=ass_v, crop_x="10*t"),
        OutputSpec(tmp_path / "e.mp4", 720, 720),
    ]
    branches = plan_branches(outs, default_subtitles=ass_s)
    assert [(b.aspect, b.outputs) for b in branches] == [((9, 16), (1, 0)), ((1, 1), (2, 4)), ((9, 16), (3,))]
    assert branches[1].subtitles == ass_s  # e.mp4 takes the render's default captions


def test_every_platform_has_an_encode_preset_and_linkedin_and_x_get_a_square_file() -> None:
    for p in PLATFORMS.values():
        assert p.encode.audio_rate == 48000 and p.encode.loudness_lufs == -14.0
        assert p.encode.fps_cap <= p.max_fps
        assert p.formats[0] == media_format(p.aspect, p.width, p.height)
    assert [f.aspect for f in PLATFORMS["linkedin"].formats] == ["9:16", "1:1"]
    assert (PLATFORMS["x"].formats[1].width, PLATFORMS["x"].formats[1].height) == (720, 720)
    assert PLATFORMS["youtube"].encode == YOUTUBE_MASTER
    both = shared_preset([SOCIAL, X_PRESET])
    assert both.video_maxrate_kbps == 5000 and both.audio_bitrate_kbps == 128
    enc = encode_settings(X_PRESET, x264_preset="fast", crf=23)
    assert (enc.maxrate, enc.bufsize, enc.audio_bitrate, enc.max_fps, enc.loudness) == (
        "5000k", "10000k", "128k", 30, -14.0
    )  # fmt: skip


def media_format(aspect: str, width: int, height: int) -> object:
    from touktouk.platforms import Format

    return Format(aspect, width, height)


def test_title_wraps_to_the_width_and_is_cut_with_an_ellipsis() -> None:
    lines = wrap_title("un deux trois quatre cinq six sept huit", lambda s: len(s) * 10.0, 120, max_lines=2)
    assert lines == ["un deux", "trois…"]
    assert wrap_title("court", lambda s: 1.0, 10) == ["court"]
    # A no-break space (French "mot :") never becomes a line break.
    lines = wrap_title("un mot\u00a0: la suite", lambda s: len(s) * 10.0, 60)
    assert lines == ["un", "mot\u00a0:", "la", "suite"]


def test_brand_settings_take_a_logo_and_bumpers_and_refuse_a_missing_file(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"png")
    brand = SeriesConfig.model_validate(
        {"brand": {"logo": "logo.png", "logo_position": "bottom-right", "logo_width": 0.2}}
    ).brand
    b = branding_from(brand, base=tmp_path)
    assert (b.logo, b.logo_position, b.logo_width, b.intro) == (logo, "bottom-right", 0.2, None)
    with pytest.raises(ConfigError, match=r"intro\.mp4: the brand intro file is not there; fix brand\.intro"):
        branding_from(BrandSettings(intro="intro.mp4"), base=tmp_path)
    with pytest.raises(ValueError):
        BrandSettings(logo_position="middle")  # type: ignore[arg-type]


# --- real renders -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real French speech (FLEURS fr-001, 23 s) or espeak-ng's when the shared media is absent."""
    if have_shared("fleurs-fr-001.ogg"):
        return SHARED_MEDIA / "fleurs-fr-001.ogg"
    return espeak_episode(tmp_path_factory.mktemp("espeak") / "speech.mp4").path


@pytest.fixture(scope="module")
def box_source(speech: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("src") / "box.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=black:s=640x360:r=50",
        "-f", "lavfi", "-i", f"color=c=white:s={BOX}x{BOX}:r=50",
        "-i", str(speech),
        "-filter_complex", f"[0:v][1:v]overlay=x='{BOX_X0}+{BOX_SPEED}*t':y=160:shortest=1[v]",
        "-map", "[v]", "-map", "2:a", "-t", "9", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-ac", "2", "-ar", "44100", str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def logo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("logo") / "logo.png"
    ffmpeg("-f", "lavfi", "-i", "color=c=0xFF00FF:s=100x50", "-frames:v", "1", str(out))
    return out


CLIP_START, CLIP_END = 4.0, 7.0


@pytest.fixture(scope="module")
def three_formats(box_source: Path, logo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One render of a 3 s clip into the real delivery sizes; the 9:16 file follows the box."""
    tmp = tmp_path_factory.mktemp("three")
    paths = {"9:16": tmp / "v.mp4", "1:1": tmp / "s.mp4", "16:9": tmp / "h.mp4"}
    # Left edge keeping the box centred in a 9:16 window (202 px wide in the 360-high source);
    # t counts from the clip's start, so the box's source time is t + CLIP_START.
    follow = f"{BOX_X0}+{BOX_SPEED}*(t+{CLIP_START})+{BOX / 2}-101"
    outputs = [
        OutputSpec(paths["9:16"], 1080, 1920, crop_x=follow),
        OutputSpec(paths["1:1"], 1080, 1080),
        OutputSpec(paths["16:9"], 1920, 1080),
    ]
    render_clip(
        probe(box_source),
        CLIP_START,
        CLIP_END,
        outputs,
        encode=encode_settings(SOCIAL, **FAST),  # type: ignore[arg-type]
        branding=Branding(logo=logo, logo_position="top-left", logo_width=0.12, logo_margin=0.03),
    )
    return paths


@pytest.mark.slow
@pytest.mark.parametrize("fmt,size", [("9:16", (1080, 1920)), ("1:1", (1080, 1080)), ("16:9", (1920, 1080))])
def test_each_format_is_delivered_to_the_platform_spec(
    three_formats: dict[str, Path], fmt: str, size: tuple[int, int]
) -> None:
    path = three_formats[fmt]
    v, a = video_stream(path), audio_stream(path)
    assert (v["width"], v["height"]) == size
    assert (v["codec_name"], v["profile"], v["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert v["r_frame_rate"] == "30/1", "a 50 fps source is capped at 30 fps"
    assert (a["codec_name"], a["sample_rate"], a["channels"]) == ("aac", "48000", 2)
    assert abs(float(stream_summary(path)["format"]["duration"]) - (CLIP_END - CLIP_START)) < 0.1
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat"), f"+faststart: moov must come first, got {boxes}"
    integrated, peak = ebur128(path)
    assert abs(integrated - SOCIAL.loudness_lufs) <= 1.0, f"{fmt}: {integrated} LUFS"
    assert peak <= SOCIAL.true_peak_db + 1.0, f"{fmt}: true peak {peak} dBFS"


@pytest.mark.slow
def test_the_reframing_expression_follows_the_moving_box(three_formats: dict[str, Path]) -> None:
    followed = [box_centre_x(three_formats["9:16"], t) for t in (0.5, 2.5)]
    assert all(abs(x - 0.5) < 0.05 for x in followed), f"the box should stay centred: {followed}"
    # The centre-cropped square file sees the box move by 2 s x 30 px/s = 60 px of 360 (0.17).
    fixed = [box_centre_x(three_formats["1:1"], t) for t in (0.5, 2.5)]
    assert 0.12 < fixed[1] - fixed[0] < 0.22, fixed


@pytest.mark.slow
@pytest.mark.parametrize("fmt,width", [("9:16", 1080), ("16:9", 1920)])
def test_the_logo_sits_in_its_corner_scaled_to_the_frame(three_formats: dict[str, Path], fmt: str, width: int) -> None:
    margin, logo_w = round(width * 0.03), round(width * 0.12)
    inside = mean_rgb(three_formats[fmt], 1.0, margin + 4, margin + 4, margin + logo_w - 4, margin + logo_w // 2 - 4)
    assert all(abs(c - want) < 40 for c, want in zip(inside, LOGO_RGB, strict=True)), inside
    beyond = mean_rgb(three_formats[fmt], 1.0, margin + logo_w + 8, margin + 4, margin + logo_w + 24, margin + 20)
    assert max(beyond) < 40, f"the logo is wider than {logo_w} px: {beyond}"


@pytest.fixture(scope="module")
def surround_source(speech: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Odd-sized (321x239) variable-frame-rate picture with 5.1 sound."""
    out = tmp_path_factory.mktemp("surround") / "surround.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30", "-i", str(speech),
        "-filter_complex",
        "[0:v]scale=321:239,select='if(lt(mod(n\\,30)\\,15)\\,1\\,not(mod(n\\,3)))'[v];[1:a]pan=5.1|FL=c0|FR=c0|FC=c0|LFE=c0[a]",
        "-map", "[v]", "-map", "[a]", "-t", "8", "-fps_mode", "vfr", "-f", "mp4",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", "-c:a", "aac", str(out),
    )  # fmt: skip
    return out


@pytest.mark.slow
def test_bumpers_lengthen_each_format_by_their_duration_and_surround_sound_is_normalised(
    surround_source: Path, tmp_path: Path
) -> None:
    intro, outro = tmp_path / "intro.mp4", tmp_path / "outro.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=320x240:r=25:d=1.2", "-f", "lavfi", "-i", "sine=f=440:d=1.2",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(intro))  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "color=c=blue:s=200x200:r=25:d=0.8", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", str(outro))  # fmt: skip
    info = probe(surround_source)
    assert info.audio_channels == 6 and (info.width, info.height) == (321, 239) and info.variable_frame_rate
    plain = [OutputSpec(tmp_path / "p.mp4", 360, 640)]
    outs = [OutputSpec(tmp_path / "v.mp4", 360, 640), OutputSpec(tmp_path / "s.mp4", 320, 320)]
    enc = encode_settings(SOCIAL, **FAST)  # type: ignore[arg-type]
    measured = render_clip(info, 1.0, 6.0, plain, encode=enc)
    render_clip(info, 1.0, 6.0, outs, encode=enc, measured=measured, branding=Branding(intro=intro, outro=outro))
    base = float(stream_summary(plain[0].path)["format"]["duration"])
    assert abs(base - 5.0) < 0.1
    for out in outs:
        v, a = video_stream(out.path), audio_stream(out.path)
        assert (v["width"], v["height"], a["channels"]) == (out.width, out.height, 2)
        total = float(stream_summary(out.path)["format"]["duration"])
        assert abs(total - (base + 1.2 + 0.8)) < 0.15, total
        # The outro's blue picture closes the file.
        assert max(mean_rgb(out.path, total - 0.3, 10, 10, 30, 30)[:2]) < 40
    integrated, _ = ebur128(plain[0].path)
    assert abs(integrated - SOCIAL.loudness_lufs) <= 1.0, integrated


@pytest.mark.slow
def test_the_episode_master_is_16_9_youtube_ready_even_from_audio_only_footage(tmp_path: Path) -> None:
    if not have_shared("fleurs-fr-003.ogg"):
        pytest.skip("needs ../shared/media")
    info = probe(SHARED_MEDIA / "fleurs-fr-003.ogg")
    out = tmp_path / "master.mp4"
    enc = encode_settings(YOUTUBE_MASTER, x264_preset="superfast", crf=30)
    measured = render_master(info, out, encode=enc)
    assert measured is not None and measured.input_i < -17, "FLEURS is quieter than the target: it is raised"
    v, a = video_stream(out), audio_stream(out)
    assert (v["width"], v["height"], v["profile"], v["pix_fmt"]) == (1920, 1080, "High", "yuv420p")
    assert (a["codec_name"], a["sample_rate"], a["channels"]) == ("aac", "48000", 2)
    assert abs(float(stream_summary(out)["format"]["duration"]) - info.duration) < 0.15
    integrated, peak = ebur128(out)
    assert abs(integrated - YOUTUBE_MASTER.loudness_lufs) <= 1.0, integrated
    assert peak <= YOUTUBE_MASTER.true_peak_db + 1.0


def video_packets_md5(path: Path) -> str:
    """MD5 of the first video stream's coded packets: equal only when the picture was copied."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "md5", "-"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return out.strip()


def master_info(**changes: object) -> MediaInfo:
    from dataclasses import replace

    base = MediaInfo("ep.mp4", "mov,mp4", 600.0, True, 1920, 1080, 25.0, False, 2, "aac", 0,
                           video_codec="h264", pix_fmt="yuv420p", video_bitrate=6_000_000)  # fmt: skip
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("changes", "copies"),
    [
        ({}, True),
        ({"width": 1280, "height": 720}, False),  # the master is 1920x1080, as its key and manifest say
        ({"width": 3840, "height": 2160}, False),  # scaled down to 1080 lines
        ({"width": 640, "height": 360}, False),  # below HD: upscaled
        ({"width": 1440, "height": 1080}, False),  # 4:3: pillarboxed
        ({"video_codec": "hevc"}, False),
        ({"pix_fmt": "yuv422p10le"}, False),
        ({"variable_frame_rate": True}, False),
        ({"rotation": 90}, False),
        ({"fps": 120.0}, False),
        ({"video_bitrate": 50_000_000}, False),  # a camera's 50 Mb/s: over the 12 Mb/s preset cap
        ({"video_bitrate": 0}, False),  # unknown: not trusted
        ({"square_pixels": False}, False),
        ({"has_video": False, "width": 0, "height": 0, "video_codec": ""}, False),
    ],
)
def test_the_master_copies_the_picture_only_when_it_already_meets_the_youtube_preset(
    changes: dict[str, object], copies: bool
) -> None:
    enc = encode_settings(YOUTUBE_MASTER)
    assert master_copies_video(master_info(**changes), enc) is copies


def test_a_logo_or_burned_captions_force_the_master_to_be_encoded(tmp_path: Path) -> None:
    enc, info = encode_settings(YOUTUBE_MASTER), master_info()
    assert master_copies_video(info, enc, branding=Branding())
    assert not master_copies_video(info, enc, branding=Branding(logo=tmp_path / "logo.png"))
    assert not master_copies_video(info, enc, branding=Branding(outro=tmp_path / "outro.mp4"))
    assert not master_copies_video(info, enc, subtitles=tmp_path / "captions.ass")


@pytest.mark.slow
def test_a_master_ready_picture_is_copied_bit_for_bit_and_only_the_sound_is_normalised(
    speech: Path, tmp_path: Path
) -> None:
    src = tmp_path / "hd.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=25", "-i", str(speech), "-t", "8", "-c:v", "libx264",
        "-preset", "ultrafast", "-crf", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "1", str(src),
    )  # fmt: skip
    info = probe(src)
    assert (info.video_codec, info.pix_fmt) == ("h264", "yuv420p") and 0 < info.video_bitrate < 12_000_000
    out = tmp_path / "master.mp4"
    render_master(info, out, encode=encode_settings(YOUTUBE_MASTER))
    assert video_packets_md5(out) == video_packets_md5(src)
    a = audio_stream(out)
    assert (a["codec_name"], a["sample_rate"], a["channels"]) == ("aac", "48000", 2)
    assert top_level_boxes(out).index("moov") < top_level_boxes(out).index("mdat"), "+faststart"
    integrated, peak = ebur128(out)
    assert abs(integrated - YOUTUBE_MASTER.loudness_lufs) <= 1.0, integrated
    assert peak <= YOUTUBE_MASTER.true_peak_db + 1.0


@pytest.mark.slow
def test_the_cover_uses_the_sharpest_frame_near_the_moment_and_carries_the_title(tmp_path: Path) -> None:
    src = tmp_path / "blurry.mp4"
    # Blurred everywhere except 2.9-3.1 s; candidates at 1, 2, 3, 4 and 5 s.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=6", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo",
           "-vf", "boxblur=8:enable='not(between(t,2.9,3.1))'", "-t", "6", "-c:v", "libx264", "-preset",
           "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(src))  # fmt: skip
    info = probe(src)
    out, bare = tmp_path / "cover.jpg", tmp_path / "bare.jpg"
    chosen = make_cover(info, out, title="La ressourcerie qui répare le quartier", around=3.0)
    assert chosen == pytest.approx(3.0)
    make_cover(info, bare, title="", around=3.0)
    from PIL import Image, ImageChops

    with Image.open(out) as img, Image.open(bare) as ref:
        assert (img.format, img.size) == ("JPEG", (1080, 1920))
        diff = ImageChops.difference(img.convert("L"), ref.convert("L"))
        rows = [sum(diff.crop((0, y, 1080, y + 96)).getdata()) / (1080 * 96) for y in range(0, 1920, 96)]
    titled = [i for i, r in enumerate(rows) if r > 8]
    assert titled, f"no title drawn: {rows}"
    assert max(titled) * 96 < 1920 * 0.8, "the title must stay above the bottom fifth"
    assert min(titled) * 96 > 1920 * 0.4, "the title sits in the lower half, over the shade"


@pytest.mark.slow
def test_a_rotated_phone_clip_is_framed_upright(tmp_path: Path) -> None:
    """Stored 320x240 with its left half white and a rotation tag: displayed 240x320 with the white
    half on top or at the bottom (as players show it, ffmpeg applying the matrix), kept so by the
    9:16 render."""
    stored, rotated = tmp_path / "stored.mp4", tmp_path / "rotated.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=320x240:r=25:d=3", "-f", "lavfi", "-i", "sine=f=300:d=3",
           "-vf", "drawbox=x=0:y=0:w=160:h=240:c=white:t=fill", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-c:a", "aac", str(stored))  # fmt: skip
    ffmpeg("-i", str(stored), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))
    info = probe(rotated)
    assert info.rotation in (90, 270) and (info.width, info.height) == (240, 320)
    shown = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", "1", "-i", str(rotated), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "gray", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert len(shown) == 240 * 320, "ffmpeg shows the picture rotated, 240 wide"
    shown_top, shown_bottom = shown[20 * 240 : 140 * 240], shown[180 * 240 : 300 * 240]
    white_on_top = sum(shown_top) > sum(shown_bottom)
    out = tmp_path / "clip.mp4"
    fast = EncodeSettings(preset="ultrafast")
    render_clip(info, 0.5, 2.5, [OutputSpec(out, 180, 320)], encode=fast)
    v = video_stream(out)
    assert (v["width"], v["height"]) == (180, 320)
    top, bottom = mean_rgb(out, 1.0, 40, 20, 140, 140), mean_rgb(out, 1.0, 40, 180, 140, 300)
    bright, dark = (top, bottom) if white_on_top else (bottom, top)
    assert min(bright) > 200 and max(dark) < 40, (shown_top, shown_bottom, top, bottom)
