"""`touktouk captions`: check caption files against the subtitle rules; a still with burned-in captions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from touktouk.cli.console import fail, out

captions_app = typer.Typer(help="Caption files: check them against the subtitle rules.")


@captions_app.command("check")
def captions_check(
    files: Annotated[list[Path], typer.Argument(help="SRT, VTT or ASS caption files.")],
    style: Annotated[
        str | None,
        typer.Option(help="classic, vertical or square (default: from an ASS file's frame, else classic)."),
    ] = None,
    fps: Annotated[float, typer.Option(min=1, help="Frame rate of the video, for the 2-frame minimum gap.")] = 25.0,
    max_cps: Annotated[
        float | None, typer.Option(min=1, help="Reading speed limit (default: captions.max_cps of the config).")
    ] = None,
    fast_speech: Annotated[
        str | None,
        typer.Option(help="strict or verbatim: how events over max_cps are judged (default: from the config)."),
    ] = None,
    cuts: Annotated[
        Path | None, typer.Option(help="Shot changes, one time a line (seconds or HH:MM:SS.mmm): no caption across.")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Series config (default config/touktouk.toml).")] = None,
) -> None:
    """List every subtitle-rule violation (SPECS.md) with its time; exit 1 if there is any."""
    from rich.text import Text

    from touktouk.captions.check_files import load_events, read_cuts
    from touktouk.captions.check_rules import FAST_SPEECH, RULES, Rules
    from touktouk.captions.checker import check_events, format_time
    from touktouk.captions.styles import style_for
    from touktouk.config import load_series
    from touktouk.errors import ToukToukError

    if style is not None and style not in RULES:
        fail(f"unknown style '{style}': choose {', '.join(RULES)}.")
    if fast_speech is not None and fast_speech not in FAST_SPEECH:
        fail(f"unknown --fast-speech '{fast_speech}': choose {' or '.join(FAST_SPEECH)}.")
    try:
        series = load_series(config)
    except ToukToukError as exc:
        fail(str(exc))
    settings = series.captions
    shot_changes: list[float] = []
    if cuts is not None:
        try:
            shot_changes = read_cuts(cuts)
        except (OSError, ValueError) as exc:
            fail(f"cannot read the shot changes in {cuts}: {exc}")
    total = 0
    for path in files:
        try:
            events, detected = load_events(path)
            # The series' own style: its font measures 9:16 and 1:1 lines, as when they were laid out.
            look = style_for(style or detected, series.brand, settings, max_cps=max_cps)
            rules = Rules.for_caption_style(
                style or detected, look, fps=fps, fast_speech=fast_speech or settings.fast_speech, cuts=shot_changes
            )
            violations = check_events(events, rules)
        except ToukToukError as exc:
            fail(str(exc))
        except (OSError, ValueError) as exc:  # unreadable, undecodable or not a subtitle file
            fail(f"cannot check {path}: {exc}")
        total += len(violations)
        if not violations:
            out.print(f"{path}: no violations", highlight=False, soft_wrap=True)
            continue
        table = Table("time", "rule", "message", title=Text(f"{path}: {len(violations)} violation(s)"))
        for v in violations:
            table.add_row(format_time(v.time), v.rule, Text(v.message))
        out.print(table)
    if total:
        raise typer.Exit(1)


@captions_app.command("still")
def captions_still(
    video: Annotated[Path, typer.Argument(help="Footage to take the frame from.")],
    at: Annotated[float, typer.Option(min=0, help="Time of the frame in the footage, in seconds.")],
    out_path: Annotated[Path, typer.Option("--out", help="Image to write (.png or .jpg).")],
    style: Annotated[str, typer.Option(help="classic (16:9), vertical (9:16) or square (1:1).")] = "vertical",
    width: Annotated[
        int, typer.Option(min=0, help="Width of the image written, scaled down from the frame (0: full size).")
    ] = 0,
    transcript: Annotated[
        Path | None, typer.Option(help="transcript.json from a publish; default: transcribe with Whisper (cached).")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Spoken language (default: the config's).")] = None,
    keyword: Annotated[list[str] | None, typer.Option(help="Episode keyword to emphasise (repeatable).")] = None,
    config: Annotated[Path | None, typer.Option(help="Series config (default config/touktouk.toml).")] = None,
) -> None:
    """One frame of the footage with the captions burned in as a clip would show them (karaoke
    highlight on the word being said at --at): for the README and for checking a style."""
    import json
    import tempfile

    from PIL import Image

    from touktouk.captions.files import write_captions
    from touktouk.captions.layout import layout_clip, rebase
    from touktouk.captions.styles import STYLES, style_for
    from touktouk.config import load_series
    from touktouk.errors import ToukToukError
    from touktouk.render.clip import render_clip
    from touktouk.render.encode import EncodeSettings, OutputSpec
    from touktouk.render.probe import extract_audio, probe
    from touktouk.render.stills import grab_frame
    from touktouk.transcribe.run import transcribe
    from touktouk.types import Transcript

    if style not in STYLES:
        fail(f"unknown style '{style}': choose {', '.join(STYLES)}.")
    if out_path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        fail(f"{out_path}: write a .png or .jpg image.")
    try:
        series = load_series(config)
        info = probe(video)
        if at >= info.duration:
            fail(f"--at {at:g} s is past the end of {video} ({info.duration:.1f} s).")
        with tempfile.TemporaryDirectory(prefix="touktouk-still-") as tmp_dir:
            tmp = Path(tmp_dir)
            if transcript is not None:
                words = Transcript.from_dict(json.loads(transcript.read_text(encoding="utf-8"))).words
            else:
                audio = extract_audio(video, tmp / "audio.wav")
                words = transcribe(audio, series.whisper, language=language or series.language)[0].words
            b = series.brand
            look = style_for(style, b, series.captions)
            # Lay out a clip around the frame, then render half a second of it.
            start, end = max(0.0, at - 10.0), min(info.duration, at + 5.0)
            events = layout_clip(words, look, start, end)
            a = max(0.0, at - start - 0.2)
            shown = rebase(events, a, a + 0.5)
            files = write_captions(shown, look, tmp, "still", karaoke=True, keywords=keyword or ())
            clip = tmp / "still.mp4"
            render_clip(
                info,
                start + a,
                start + a + 0.5,
                [OutputSpec(clip, look.play_res_x, look.play_res_y)],
                subtitles=files["ass"],
                fonts_dir=b.fonts_dir,
                encode=EncodeSettings(preset="ultrafast", crf=16),
            )
            w, h, raw = grab_frame(clip, at - start - a)
    except ToukToukError as exc:
        fail(str(exc))
    image = Image.frombytes("RGB", (w, h), raw)
    if width and width < w:
        image = image.resize((width, round(h * width / w)), Image.Resampling.LANCZOS)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if out_path.suffix.lower() == ".png":
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out_path, optimize=True)
    else:
        image.save(out_path, quality=82, optimize=True, progressive=True)
    out.print(f"Wrote {out_path} ({image.width}x{image.height}, {style}, frame at {at:g} s).", highlight=False)
