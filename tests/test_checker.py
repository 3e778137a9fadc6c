"""The caption rule checker: each rule caught in a hand-made file, none in the layout engine's output."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from touktouk.captions.check_files import check_file, load_events, read_cuts
from touktouk.captions.check_rules import (
    EMPTY,
    GAP,
    LINE_COUNT,
    LINE_END,
    LINE_LENGTH,
    MAX_DURATION,
    MIN_DURATION,
    ORDER,
    OVERLAP,
    READING_SPEED,
    SHOT_CHANGE,
    TYPOGRAPHY,
    CheckEvent,
    Rules,
    Violation,
)
from touktouk.captions.checker import check_events, condensable
from touktouk.captions.files import write_captions
from touktouk.captions.layout import layout_captions, layout_for_style
from touktouk.captions.styles import classic_style, square_style, vertical_style
from touktouk.cli import app
from touktouk.french import NBSP
from touktouk.types import Word

NNBSP = "\u202f"
SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "brandnewsblog-interviews-fr.txt"

Cue = tuple[float, float, str]  # start, end, text with "\n" between lines


def _ts(t: float, sep: str) -> str:
    ms = round(t * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def srt(cues: list[Cue]) -> str:
    return "".join(f"{i}\n{_ts(a, ',')} --> {_ts(b, ',')}\n{text}\n\n" for i, (a, b, text) in enumerate(cues, 1))


def vtt(cues: list[Cue]) -> str:
    return "WEBVTT\n\n" + "".join(f"{_ts(a, '.')} --> {_ts(b, '.')}\n{text}\n\n" for a, b, text in cues)


def ass(cues: list[Cue], res: tuple[int, int] = (1920, 1080)) -> str:
    def cs(t: float) -> str:
        c = round(t * 100)
        return f"{c // 360_000}:{c // 6000 % 60:02d}:{c // 100 % 60:02d}.{c % 100:02d}"

    head = (
        "[Script Info]\nScriptType: v4.00+\nWrapStyle: 2\n"
        f"PlayResX: {res[0]}\nPlayResY: {res[1]}\n\n"
        "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, "
        "Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
        "Style: Default,DejaVu Sans,54,&H00FFFFFF,&H0000D4FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,"
        "3,1,2,192,192,60,1\n\n"
        "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
    body = "".join(
        f"Dialogue: 0,{cs(a)},{cs(b)},Default,,0,0,0,,{text.replace(chr(10), chr(92) + 'N')}\n" for a, b, text in cues
    )
    return head + body


WRITERS = {"srt": srt, "vtt": vtt, "ass": ass}


def write(tmp_path: Path, cues: list[Cue], fmt: str, name: str = "captions") -> Path:
    path = tmp_path / f"{name}.{fmt}"
    path.write_text(WRITERS[fmt](cues), encoding="utf-8")
    return path


# A clean file: 2-frame gap exactly, NBSP and narrow NBSP, « », a clock time and a URL.
CLEAN: list[Cue] = [
    (1.0, 5.0, "Je crois que l'économie sociale\net solidaire, c'est d'abord"),
    (5.08, 7.6, "une affaire de gens qui se parlent."),
    (8.0, 9.0, f"Pourquoi{NBSP}?"),
    (9.5, 13.0, f"Elle m'a dit{NBSP}: «{NBSP}c'est maintenant\nou jamais{NBSP}»."),
    (13.5, 16.0, f"Vraiment{NNBSP}! À 14:30, sur https://x.fr"),
]

# Each file breaks exactly one rule.
BROKEN: list[tuple[str, list[Cue]]] = [
    (LINE_LENGTH, [(1, 5, "Le président de la Fédération nationale des associations")]),
    (LINE_COUNT, [(1, 4, "Oui,\nc'est vrai,\nmerci.")]),
    (MIN_DURATION, [(1, 1.5, "Oui.")]),
    (MAX_DURATION, [(1, 9, "Oui.")]),
    (READING_SPEED, [(1, 2.2, "Je crois que l'économie sociale")]),
    (GAP, [(1, 2, "Oui."), (2.04, 3, "Non.")]),  # one frame at 25 fps
    (OVERLAP, [(1, 2.5, "Oui."), (2, 3, "Non.")]),
    (ORDER, [(10, 11, "Oui."), (1, 2, "Non.")]),
    (TYPOGRAPHY, [(1, 3, "Pourquoi ?")]),
    (TYPOGRAPHY, [(1, 3, "Pourquoi?")]),
    (TYPOGRAPHY, [(1, 3, f"Il a dit{NBSP}: «non{NBSP}».")]),
    (TYPOGRAPHY, [(1, 3, f"Il a dit{NBSP}: «{NBSP}non ».")]),
    (TYPOGRAPHY, [(1, 3, f"Vraiment\n{NBSP}! C'est fou.")]),
    (TYPOGRAPHY, [(1, 3, f"C'est «{NBSP}maintenant\n{NBSP}» ou jamais.")]),
    (LINE_END, [(1, 5, "Nous avons parlé avec le\nprésident de la Fédération.")]),
    (LINE_END, [(1, 4, "Alors je\ncrois que oui.")]),
    (LINE_END, [(1, 4, "Nous travaillons pour\nles bénévoles du quartier.")]),
    (LINE_END, [(1, 4, "Les bénévoles et\nles salariés du quartier.")]),
    (EMPTY, [(1, 2, "Oui."), (3, 4, ""), (5, 6, "Non.")]),
]


@pytest.mark.parametrize("fmt", ["srt", "vtt", "ass"])
def test_a_clean_file_has_no_violations(tmp_path: Path, fmt: str) -> None:
    assert check_file(write(tmp_path, CLEAN, fmt)) == []


@pytest.mark.parametrize("fmt", ["srt", "vtt", "ass"])
@pytest.mark.parametrize(("rule", "cues"), BROKEN, ids=[f"{r}-{i}" for i, (r, _) in enumerate(BROKEN)])
def test_each_rule_is_caught_alone(tmp_path: Path, fmt: str, rule: str, cues: list[Cue]) -> None:
    violations = check_file(write(tmp_path, cues, fmt))
    assert violations, f"{rule} not caught"
    assert {v.rule for v in violations} == {rule}, violations
    assert all(v.message for v in violations)
    starts = {round(a, 3) for a, _, _ in cues}
    assert {round(v.time, 3) for v in violations} <= starts


def test_empty_ass_event_made_only_of_tags(tmp_path: Path) -> None:
    path = write(tmp_path, [(1, 2, "Oui."), (3, 4, "{\\b1}{\\c&H00D4FF&}"), (5, 6, "Non.")], "ass")
    assert [v.rule for v in check_file(path)] == [EMPTY]


def test_a_two_frame_gap_depends_on_the_frame_rate(tmp_path: Path) -> None:
    path = write(tmp_path, [(1, 2, "Oui."), (2.05, 3, "Non.")], "srt")  # 50 ms: 2.5 frames at 50 fps
    assert [v.rule for v in check_file(path)] == [GAP]
    assert check_file(path, fps=50) == []


# --- ASS specifics ----------------------------------------------------------------------


def test_ass_style_comes_from_the_frame_unless_given(tmp_path: Path) -> None:
    cues: list[Cue] = [(1, 4, "Je crois que l'économie sociale")]  # 31 characters: classic only
    portrait = tmp_path / "v.ass"
    portrait.write_text(ass(cues, res=(1080, 1920)), encoding="utf-8")
    assert [v.rule for v in check_file(portrait)] == [LINE_LENGTH]
    assert check_file(portrait, style="classic") == []
    landscape = write(tmp_path, cues, "ass")
    assert check_file(landscape) == []
    assert [v.rule for v in check_file(write(tmp_path, cues, "srt"), style="vertical")] == [LINE_LENGTH]


def test_ass_tags_and_escapes_are_not_counted_as_text(tmp_path: Path) -> None:
    text = "{\\an2\\b1\\c&H00D4FF&\\fs80}Je crois{\\r}\\Nque l'économie\\hsociale\\h?"
    events, style = load_events(write(tmp_path, [(1, 4, text)], "ass"))
    assert style == "classic"
    assert events == [CheckEvent(1.0, 4.0, ("Je crois", f"que l'économie{NBSP}sociale{NBSP}?"))]
    escaped = "C:\\\u2060Nouveau \\{gras\\}"  # escape_ass_text output: shown as C:\Nouveau {gras}
    events, _ = load_events(write(tmp_path, [(1, 4, escaped)], "ass", "escaped"))
    assert events[0].lines == ("C:\\Nouveau {gras}",)


def test_karaoke_word_events_are_one_caption(tmp_path: Path) -> None:
    hl, r = "{\\c&H00D4FF&}", "{\\r}"
    cues: list[Cue] = [
        (1.0, 1.3, f"{hl}Oui,{r} très bien."),
        (1.3, 1.6, f"Oui, {hl}très{r} bien."),
        (1.6, 2.0, f"Oui, très {hl}bien.{r}"),
        (3.0, 4.0, "Oui, très bien."),  # same text after a pause: a second caption
    ]
    events, _ = load_events(write(tmp_path, cues, "ass"))
    assert [(e.start, e.end) for e in events] == [(1.0, 2.0), (3.0, 4.0)]
    assert check_file(write(tmp_path, cues, "ass")) == []


def test_rules_table_follows_specs_and_styles() -> None:
    classic, vertical = Rules.for_style("classic"), Rules.for_style("vertical", fps=24)
    assert classic.max_chars_per_line == 42
    assert (
        vertical.max_chars_per_line
        == vertical_style(font_name="x", primary="#FFFFFF", highlight="#FFFFFF").max_chars_per_line
    )
    for r in (classic, vertical):
        assert (r.max_lines, r.min_duration, r.max_duration, r.max_cps, r.min_gap_frames) == (2, 5 / 6, 7.0, 17.0, 2)
    assert vertical.min_gap == pytest.approx(2 / 24)
    square = Rules.for_style("square")
    assert square.max_width == square_style(font_name="x", primary="#FFFFFF", highlight="#FFFFFF").safe_width
    with pytest.raises(ValueError, match="unknown caption style"):
        Rules.for_style("portrait")
    with pytest.raises(ValueError, match="fast_speech"):
        Rules.for_style("classic", fast_speech="lenient")
    assert Rules.for_style("classic", max_cps=20).max_cps == 20
    assert Rules.for_style("classic").fast_speech == "strict"  # the checker's own default stays strict


def test_square_ass_is_checked_with_the_square_rules(tmp_path: Path) -> None:
    path = tmp_path / "square.ass"
    path.write_text(ass([(1, 4, "Je crois que l'économie")], res=(1080, 1080)), encoding="utf-8")
    assert load_events(path)[1] == "square"
    assert check_file(path) == []


# --- reading speed of fast speech, shot changes ------------------------------------------------

FAST: list[Cue] = [
    (1.0, 2.92, "Je crois que l'économie sociale"),  # 16.1 cps, fine
    (3.0, 4.92, "et solidaire, c'est d'abord\nune affaire de gens"),  # 24.5 cps, squeezed by the next
    (5.0, 6.0, "qui se parlent vraiment."),  # 24 cps, 2 s free after it
    (8.0, 8.92, "euh, c'est simple."),  # 19.6 cps, squeezed, but « euh » could go
    (9.0, 10.0, "Bien sûr."),
]


def test_fast_speech_strict_reports_every_event_over_max_cps(tmp_path: Path) -> None:
    path = write(tmp_path, FAST, "srt")
    found = check_file(path, fast_speech="strict")
    assert [(v.time, v.rule) for v in found] == [(3.0, READING_SPEED), (5.0, READING_SPEED),
                                                 (8.0, READING_SPEED)]  # fmt: skip
    assert check_file(path, fast_speech="strict", max_cps=25) == []


def test_fast_speech_verbatim_allows_only_events_shown_as_long_as_the_speech_lets_them(tmp_path: Path) -> None:
    path = write(tmp_path, FAST, "srt")
    found = check_file(path, fast_speech="verbatim")
    assert [(v.time, v.rule) for v in found] == [(5.0, READING_SPEED), (8.0, READING_SPEED)]
    assert "could stay 1.920 s longer" in found[0].message
    assert "condense it: euh," in found[1].message
    assert condensable("je je crois, hein, que nous nous sommes") == ["je", "hein,"]


def test_an_event_across_a_shot_change_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, CLEAN, "vtt")
    assert check_file(path, cuts=[4.5]) == [Violation(1.0, SHOT_CHANGE, "shown across the shot change at 00:00:04.500")]
    assert check_file(path, cuts=[5.04, 7.8, 16.0]) == []  # in gaps, or at an edge
    cuts = tmp_path / "cuts.txt"
    cuts.write_text("# shot changes\n4.5\n00:00:10.000\n", encoding="utf-8")
    assert read_cuts(cuts) == [4.5, 10.0]
    cuts.write_text("4.5\nplus tard\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        read_cuts(cuts)


# --- the layout engine's own output ---------------------------------------------------------


def speak(text: str, cps: float) -> list[Word]:
    """Word timings of speech at `cps` characters a second (length ~ syllables), with pauses."""
    words, t = [], 0.0
    for token in text.split():
        dur = (len(token) + 1) / cps - 0.03
        words.append(Word(round(t, 3), round(t + dur, 3), token))
        t += (
            dur
            + 0.03
            + (0.4 if token.endswith((".", "!", "?", "…")) else 0.15 if token.endswith((",", ";", ":")) else 0)
        )
    return words


def seed_text(min_words: int = 600) -> str:
    if not SEED.is_file():
        pytest.skip(f"{SEED} not available")
    paragraphs = [p for p in SEED.read_text(encoding="utf-8").splitlines() if p.strip()]
    first = next(i for i, p in enumerate(paragraphs) if p.startswith("Le BrandNewsBlog : Bonjour"))
    picked: list[str] = []
    for p in paragraphs[first:]:
        picked.append(p)
        if sum(len(x.split()) for x in picked) >= min_words:
            break
    return " ".join(picked)


STYLES = {
    "classic": classic_style(font_name="DejaVu Sans", primary="#FFFFFF", highlight="#FFD400"),
    "vertical": vertical_style(font_name="DejaVu Sans", primary="#FFFFFF", highlight="#FFD400"),
    "square": square_style(font_name="DejaVu Sans", primary="#FFFFFF", highlight="#FFD400"),
}


def engine_violations(tmp_path: Path, style: str, cps: float) -> dict[str, list[Violation]]:
    s = STYLES[style]
    events = layout_for_style(speak(seed_text(), cps), s)
    paths = write_captions(events, s, tmp_path, style)
    return {fmt: check_file(path) for fmt, path in paths.items()}


def test_engine_output_on_real_french_has_no_violations_classic(tmp_path: Path) -> None:
    # 16 characters a second of speech (about 2.4 words a second with pauses): readable verbatim.
    for fmt, violations in engine_violations(tmp_path, "classic", 16).items():
        assert violations == [], fmt


def test_engine_output_on_real_french_vertical_breaks_rules_only_where_22_characters_leave_no_choice(
    tmp_path: Path,
) -> None:
    # "et de « Diversimakers »", "pour tes encouragements", "et pour leur confiance." and "de la
    # sous-représentation" are 23-25 characters with no allowed break inside: at 22 characters a
    # line, one line must end with a conjunction or preposition (or, last resort, an article).
    # Everything else is clean. Measuring the rendered width (issue 4, item 1) removes these: the
    # engine allows those lines since they fit the safe area, and so does the checker.
    for fmt, violations in engine_violations(tmp_path, "vertical", 16).items():
        assert {v.rule for v in violations} <= {LINE_END}, (fmt, violations)
        assert len(violations) <= 4, (fmt, violations)


def test_engine_output_on_real_french_has_no_violations_vertical(tmp_path: Path) -> None:
    for fmt, violations in engine_violations(tmp_path, "vertical", 16).items():
        assert violations == [], fmt


@pytest.mark.parametrize("style", ["classic", "vertical", "square"])
def test_fast_speech_gets_all_the_time_it_has(tmp_path: Path, style: str) -> None:
    # At 22 characters a second no verbatim caption keeps 17 cps; every event over it must be
    # shown until the next one starts (or for 7 s), which "verbatim" checks (the strict policy
    # reports them all). The engine's captions of this speech pass it, in every style.
    s = STYLES[style]
    events = layout_for_style(speak(seed_text(), 22), s)
    paths = write_captions(events, s, tmp_path, style)
    for fmt, path in paths.items():
        rules = Rules.for_caption_style(style, s, fast_speech="verbatim")
        assert check_file(path, rules=rules) == [], fmt
        strict = check_file(path, rules=Rules.for_caption_style(style, s, fast_speech="strict"))
        assert {v.rule for v in strict} == {READING_SPEED}, fmt


def test_speech_faster_than_reading_speed_only_breaks_reading_speed(tmp_path: Path) -> None:
    # At 19 characters a second (3 words a second of this text) verbatim captions cannot be read
    # at 17 cps; the engine keeps every other rule.
    for fmt, violations in engine_violations(tmp_path, "classic", 19).items():
        assert violations, fmt
        assert {v.rule for v in violations} == {READING_SPEED}, fmt


# --- timing invariants of the engine (hypothesis) ---------------------------------------------

TOKENS = ["le", "la", "de", "et", "économie", "sociale,", "qui", "parlent.", "Pourquoi", "?", "«", "»",
          "je", "l'association", "solidaire", "très", "bien", "!", "anticonstitutionnellement", "d'abord"]  # fmt: skip
TIMING = {ORDER, OVERLAP, GAP, MIN_DURATION, MAX_DURATION}


@st.composite
def word_sequences(draw: st.DrawFn, max_cps: float | None = None) -> list[Word]:
    """Any timings; with max_cps, speech no faster than that (each word long enough)."""
    n = draw(st.integers(1, 60))
    words, t = [], draw(st.floats(0, 100))
    for _ in range(n):
        token = draw(st.sampled_from(TOKENS))
        t += draw(st.floats(0, 2.0))
        shortest = 0.0 if max_cps is None else (len(token) + 1) / max_cps
        dur = draw(st.floats(shortest, shortest + 1.5))
        words.append(Word(t, t + dur, token))
        t += dur
    return words


def _timing_violations(words: list[Word], max_chars: int, max_lines: int) -> list[Violation]:
    events = layout_captions(words, max_chars_per_line=max_chars, max_lines=max_lines)
    rules = Rules(style="test", max_chars_per_line=max_chars, max_lines=max_lines)
    return check_events([CheckEvent.from_caption(e) for e in events], rules)


@settings(max_examples=200, deadline=None)
@given(words=word_sequences(), max_chars=st.sampled_from([16, 22, 42]), max_lines=st.integers(1, 3))
def test_layout_never_breaks_a_timing_rule(words: list[Word], max_chars: int, max_lines: int) -> None:
    assert [v for v in _timing_violations(words, max_chars, max_lines) if v.rule in TIMING] == []


@settings(max_examples=200, deadline=None)
@given(words=word_sequences(max_cps=15.0), max_chars=st.sampled_from([22, 42]))
def test_layout_keeps_reading_speed_when_speech_allows_it(words: list[Word], max_chars: int) -> None:
    rules = TIMING | {READING_SPEED}
    assert [v for v in _timing_violations(words, max_chars, 2) if v.rule in rules] == []


# --- the command ------------------------------------------------------------------------------


def test_cli_lists_violations_and_exits_1(tmp_path: Path) -> None:
    bad = write(tmp_path, [(1, 2, "Oui."), (2.04, 3, "Pourquoi ?")], "srt")
    good = write(tmp_path, CLEAN, "vtt")
    result = CliRunner().invoke(app, ["captions", "check", str(good), str(bad)], terminal_width=200)
    assert result.exit_code == 1, result.output
    assert f"{good}: no violations" in result.output
    assert "00:00:02.040" in result.output and "gap" in result.output and "typography" in result.output


def test_cli_clean_files_exit_0(tmp_path: Path) -> None:
    paths = [str(write(tmp_path, CLEAN, fmt)) for fmt in ("srt", "ass")]
    result = CliRunner().invoke(app, ["captions", "check", *paths, "--fps", "24"])
    assert result.exit_code == 0, result.output
    assert result.output.count("no violations") == 2


def test_cli_style_option_and_bad_input(tmp_path: Path) -> None:
    path = write(tmp_path, [(1, 4, "Je crois que l'économie sociale")], "srt")
    assert CliRunner().invoke(app, ["captions", "check", str(path)]).exit_code == 0
    result = CliRunner().invoke(app, ["captions", "check", str(path), "--style", "vertical"], terminal_width=200)
    assert result.exit_code == 1 and "line-length" in result.output
    assert CliRunner().invoke(app, ["captions", "check", str(path), "--style", "square"]).exit_code == 0
    assert CliRunner().invoke(app, ["captions", "check", str(path), "--style", "portrait"]).exit_code == 2
    junk = tmp_path / "junk.srt"
    junk.write_bytes(b"\xff\xfe\x00garbage")
    assert CliRunner().invoke(app, ["captions", "check", str(junk)]).exit_code == 2
    assert CliRunner().invoke(app, ["captions", "check", str(tmp_path / "missing.srt")]).exit_code == 2


def test_cli_reading_speed_policy_and_shot_changes(tmp_path: Path) -> None:
    path = write(tmp_path, FAST, "srt")
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        r = runner.invoke(app, ["captions", "check", str(path), *args], terminal_width=200)
        return r.exit_code, r.output

    code, output = run("--fast-speech", "strict")
    assert code == 1 and output.count("reading-speed") == 3
    code, output = run("--fast-speech", "verbatim")
    assert code == 1 and output.count("reading-speed") == 2
    assert run("--fast-speech", "strict", "--max-cps", "25")[0] == 0
    assert run("--fast-speech", "lenient")[0] == 2
    cuts = tmp_path / "cuts.txt"
    cuts.write_text("9.5\n", encoding="utf-8")
    code, output = run("--max-cps", "25", "--cuts", str(cuts))
    assert code == 1 and "shot-change" in output and "00:00:09.500" in output
    assert run("--cuts", str(tmp_path / "missing.txt"))[0] == 2


@settings(max_examples=150, deadline=None)
@given(words=word_sequences(), cuts=st.lists(st.floats(0, 200), max_size=8), max_chars=st.sampled_from([22, 42]))
def test_shot_changes_never_break_a_timing_rule(words: list[Word], cuts: list[float], max_chars: int) -> None:
    events = layout_captions(words, max_chars_per_line=max_chars, cuts=cuts)
    assert [w for ev in events for w in ev.words] == words
    rules = Rules(style="test", max_chars_per_line=max_chars)
    found = check_events([CheckEvent.from_caption(e) for e in events], rules)
    assert [v for v in found if v.rule in TIMING] == []


def test_cli_measures_with_the_series_font(tmp_path: Path) -> None:
    path = write(tmp_path, [(1, 4, "pour leurs encouragements")], "srt")  # 25 characters, one line
    dejavu = tmp_path / "dejavu.toml"
    dejavu.write_text('[brand]\nfont = "DejaVu Sans"\n', encoding="utf-8")
    liberation = tmp_path / "liberation.toml"
    liberation.write_text(
        '[brand]\nfont = "Liberation Sans"\nfonts_dir = "/usr/share/fonts/truetype/liberation"\n', encoding="utf-8"
    )
    missing = tmp_path / "missing.toml"
    missing.write_text(f'[brand]\nfont = "Marianne"\nfonts_dir = "{tmp_path}"\n', encoding="utf-8")

    def run(config: Path) -> tuple[int, str]:
        args = ["captions", "check", str(path), "--style", "vertical", "--config", str(config)]
        r = CliRunner().invoke(app, args, terminal_width=200)
        return r.exit_code, r.output

    code, output = run(dejavu)
    assert code == 1 and "line-length" in output  # too wide in bold DejaVu at 56 px
    if Path("/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf").is_file():
        assert run(liberation)[0] == 0  # fits in the narrower Liberation Sans
    code, output = run(missing)
    assert code == 2 and "brand.font 'Marianne'" in output
