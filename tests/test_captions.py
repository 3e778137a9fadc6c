"""Caption layout, timing, subtitle files and burning with real ffmpeg."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path

import pysubs2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ImageFont

from touktouk.captions.check_rules import GAP, MIN_DURATION, OVERLAP, CheckEvent, Rules
from touktouk.captions.checker import check_events
from touktouk.captions.condense import condense_words
from touktouk.captions.files import write_captions
from touktouk.captions.karaoke import burnable_text, escape_ass_text, keyword_segments, to_ssa
from touktouk.captions.layout import layout_captions, layout_clip, layout_for_style, rebase
from touktouk.captions.lines import CaptionEvent
from touktouk.captions.styles import STYLES, CaptionStyle, classic_style, square_style, vertical_style
from touktouk.errors import ConfigError
from touktouk.french import DISFLUENCIES, NBSP, french_typography, keyword_key
from touktouk.platforms import PLATFORMS
from touktouk.render.ffmpeg import escape_filter_path, subtitles_filter
from touktouk.types import Word

FONTS_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT = "DejaVu Sans"

ESS = "Je crois que l'économie sociale et solidaire, c'est d'abord une affaire de gens qui se parlent."
INTERVIEW = (
    ESS + " Pourquoi ? Parce que, franchement, on n'a pas le choix ! Elle m'a dit : « c'est maintenant "
    "ou jamais ». Le président de la Fédération nationale des associations était là avec les "
    "bénévoles de la coopérative, et nous avons décidé de monter une épicerie solidaire dans le quartier."
)
WEAK_LINE_ENDS = {
    "le", "la", "les", "l'", "un", "une", "des", "du", "de", "d'", "mon", "ton", "son", "ce",
    "cette", "ces", "je", "tu", "il", "elle", "on", "nous", "vous", "ils", "elles",
}  # fmt: skip


def spoken(text: str, t0: float = 0.0) -> list[Word]:
    """Plausible word timings: about 4 syllables a second, longer words take longer."""
    words, t = [], t0
    for token in text.split():
        dur = 0.12 + 0.045 * len(token)
        words.append(Word(round(t, 3), round(t + dur, 3), token))
        t += dur + (0.35 if token.endswith((".", "!", "?", ",")) else 0.06)
    return words


def vertical() -> CaptionStyle:
    return vertical_style(font_name=FONT, primary="#FFFFFF", highlight="#FFD400")


# --- layout ---------------------------------------------------------------------------


@pytest.mark.parametrize("max_chars", [22, 32, 42])
def test_lines_respect_the_character_limit_and_line_count(max_chars: int) -> None:
    events = layout_captions(spoken(INTERVIEW), max_chars_per_line=max_chars)
    assert events
    for ev in events:
        assert 1 <= len(ev.lines) <= 2
        assert all(len(line) <= max_chars for line in ev.lines), ev.lines


@pytest.mark.parametrize("max_chars", [22, 32, 42])
def test_no_line_ends_with_an_article_or_subject_pronoun(max_chars: int) -> None:
    for ev in layout_captions(spoken(INTERVIEW), max_chars_per_line=max_chars):
        for line in ev.lines:
            last = line.split()[-1].lower()
            assert last not in WEAK_LINE_ENDS, ev.lines


def test_all_words_are_shown_in_order() -> None:
    words = spoken(INTERVIEW)
    events = layout_captions(words, max_chars_per_line=22)
    assert [w for ev in events for w in ev.words] == words
    shown = " ".join(" ".join(ev.lines) for ev in events).replace(NBSP, " ")
    assert shown.split() == INTERVIEW.split()


def test_sentence_end_starts_a_new_event() -> None:
    events = layout_captions(spoken(INTERVIEW), max_chars_per_line=42)
    assert events[0].text.endswith("se parlent.") or events[1].text.endswith("se parlent.")
    assert any(ev.text == f"Pourquoi{NBSP}?" for ev in events)


def test_classic_lines_break_after_punctuation_or_before_a_conjunction() -> None:
    events = layout_captions(spoken(ESS), max_chars_per_line=42)
    assert events[0].lines == ("Je crois que l'économie sociale", "et solidaire, c'est d'abord une affaire")
    for ev in layout_captions(spoken(INTERVIEW), max_chars_per_line=42):
        for line, nxt in itertools.pairwise(ev.lines):
            good = line.endswith((",", ".", "!", "?", ":", ";", "»")) or nxt.split()[0] in {
                "et", "ou", "mais", "donc", "car", "que", "qui", "de", "à", "pour", "dans", "sur", "avec",
                "par", "en", "parce", "sans", "chez", "vers",
            }  # fmt: skip
            assert good or abs(len(line) - len(nxt)) <= 8, ev.lines


def test_a_long_pause_starts_a_new_event() -> None:
    words = [Word(0.0, 0.3, "Alors"), Word(0.35, 0.6, "voilà"), Word(2.0, 2.3, "ensuite"), Word(2.35, 2.7, "rien")]
    events = layout_captions(words, max_chars_per_line=42)
    assert [ev.text for ev in events] == ["Alors voilà", "ensuite rien"]


def test_french_typography_nbsp_before_high_punctuation_and_inside_guillemets() -> None:
    events = layout_captions(spoken(INTERVIEW), max_chars_per_line=42)
    text = " ".join(ev.text for ev in events)
    assert f"Pourquoi{NBSP}?" in text
    assert f"choix{NBSP}!" in text
    assert f"dit{NBSP}:" in text
    assert f"«{NBSP}c'est" in text and f"jamais{NBSP}»" in text
    assert " ?" not in text and " !" not in text and " :" not in text


def test_typography_glues_and_never_doubles() -> None:
    assert french_typography("Vraiment?") == f"Vraiment{NBSP}?"
    assert french_typography(f"Vraiment{NBSP}?") == f"Vraiment{NBSP}?"
    assert french_typography("Quoi ?!") == f"Quoi{NBSP}?!"
    assert french_typography(f"«{NBSP}oui{NBSP}»") == f"«{NBSP}oui{NBSP}»"
    assert french_typography("«oui»") == f"«{NBSP}oui{NBSP}»"
    assert french_typography("à 14:30, voir https://x.fr") == "à 14:30, voir https://x.fr"
    assert french_typography("bon , d'accord .") == "bon, d'accord."


def test_short_event_is_extended_for_reading_and_minimum_duration() -> None:
    words = [Word(1.0, 1.2, "Oui."), Word(5.0, 5.3, "Mais"), Word(5.35, 5.6, "enfin")]
    events = layout_captions(words, max_chars_per_line=42)
    assert events[0].start == 1.0
    assert events[0].end == pytest.approx(1.0 + 5 / 6)
    long_text = "Anticonstitutionnellement extraordinairement"
    w = [Word(0.0, 0.4, long_text.split()[0]), Word(0.4, 0.8, long_text.split()[1])]
    (ev,) = layout_captions(w, max_chars_per_line=42)
    assert ev.end == pytest.approx(len(ev.text) / 17.0)


def test_event_end_stops_before_the_next_event() -> None:
    words = [Word(0.0, 0.9, "Oui."), Word(0.95, 1.2, "Non.")]
    a, b = layout_captions(words, max_chars_per_line=42)
    assert a.end == pytest.approx(0.95 - 2 / 25)
    assert b.start == 0.95


def test_a_sentence_too_short_to_stand_alone_shares_the_next_event() -> None:
    # "Oui." alone could only be shown 0.42 s (under 5/6 s) before "Non." needs the screen.
    words = [Word(0.0, 0.2, "Oui."), Word(0.5, 0.8, "Non.")]
    (ev,) = layout_captions(words, max_chars_per_line=42)
    assert ev.text == "Oui. Non." and ev.end - ev.start >= 5 / 6


def test_a_word_longer_than_a_line_gets_an_event_of_its_own() -> None:
    words = spoken("la déconstitutionnalisation progressive")
    events = layout_captions(words, max_chars_per_line=22)
    assert ["déconstitutionnalisation"] in [[w.text for w in ev.words] for ev in events] or any(
        "déconstitutionnalisation" in ev.lines for ev in events
    )


# --- timing invariants (hypothesis) ---------------------------------------------------

TOKENS = ["le", "la", "de", "et", "économie", "sociale,", "qui", "parlent.", "Pourquoi", "?", "«", "»",
          "je", "l'association", "solidaire", "très", "bien", "!", "anticonstitutionnellement", "d'abord"]  # fmt: skip


@st.composite
def word_sequences(draw: st.DrawFn) -> list[Word]:
    n = draw(st.integers(1, 60))
    words, t = [], draw(st.floats(0, 100))
    for _ in range(n):
        t += draw(st.floats(0, 2.0))
        dur = draw(st.floats(0.0, 1.5))
        words.append(Word(t, t + dur, draw(st.sampled_from(TOKENS))))
        t += dur
    return words


@settings(max_examples=300, deadline=None)
@given(words=word_sequences(), max_chars=st.sampled_from([16, 22, 42]), max_lines=st.integers(1, 3))
def test_timing_invariants(words: list[Word], max_chars: int, max_lines: int) -> None:
    min_gap, max_duration = 2 / 25, 7.0
    events = layout_captions(words, max_chars_per_line=max_chars, max_lines=max_lines)
    assert [w for ev in events for w in ev.words] == words  # each word in exactly one event
    for ev in events:
        assert ev.end > ev.start
        assert ev.end - ev.start <= max_duration + 1e-9
        assert ev.start >= ev.words[0].start
        assert 1 <= len(ev.lines) <= max_lines
    assert events[0].start == events[0].words[0].start
    for a, b in itertools.pairwise(events):
        assert a.start < b.start
        assert b.start - a.end >= min_gap - 1e-9
        # An event starts with its first word, unless collapsed timings (several words at one
        # instant) make it wait for the event before it to be shown and the gap to pass.
        assert b.start == b.words[0].start or b.start == pytest.approx(a.end + min_gap)


def test_collapsed_word_timings_never_give_an_empty_or_negative_caption() -> None:
    # Whisper's timings as an outside review found them: "parcours" lasts no time and "on" starts
    # with it; the event was 0.065 → -0.015 (SRT 00:00:00,065 --> 00:00:00,000).
    from touktouk.captions.layout import layout_clip
    from touktouk.captions.styles import style_for
    from touktouk.config import BrandSettings, CaptionSettings

    words = [
        Word(0.065, 0.065, "parcours"), Word(0.065, 0.486, "on"), Word(0.578, 0.605, "la"),
        Word(0.61, 0.944, "parlent."), Word(1.048, 1.174, "économie"),
    ]  # fmt: skip
    style = style_for("vertical", BrandSettings(fonts_dir=str(FONTS_DIR)), CaptionSettings())
    events = layout_clip(words, style, 0.0, 1.481)
    assert [w for ev in events for w in ev.words] == words
    assert all(ev.end > ev.start for ev in events), events
    assert all(b.start - a.end >= 2 / 25 - 1e-9 for a, b in itertools.pairwise(events))
    assert events[-1].end <= 1.481


# --- rebase ---------------------------------------------------------------------------


def test_rebase_keeps_overlapping_events_and_shifts_to_clip_time() -> None:
    events = layout_captions(spoken(INTERVIEW), max_chars_per_line=22)
    start, end = events[2].start + 0.1, events[5].end - 0.1
    clip = rebase(events, start, end)
    assert len(clip) == 4
    assert clip[0].start == 0.0 and clip[0].lines == events[2].lines
    assert clip[1].start == pytest.approx(events[3].start - start)
    assert clip[1].words[0].start == pytest.approx(events[3].words[0].start - start)
    assert clip[-1].end == pytest.approx(end - start)
    for ev in clip:
        assert 0 <= ev.start < ev.end <= end - start + 1e-9
        assert all(0 <= w.start <= w.end <= end - start + 1e-9 for w in ev.words)
    assert rebase(events, 10_000, 10_010) == []


@settings(max_examples=100, deadline=None)
@given(cut=st.floats(0.0, 1.0), length=st.floats(3.0, 20.0))
def test_clip_captions_are_laid_out_inside_the_clip(cut: float, length: float) -> None:
    # A clip cut anywhere, even mid-word: no event straddles an edge, none is too short.
    words = spoken(INTERVIEW)
    start = words[0].start + cut * (words[-1].end - words[0].start - length)
    end = start + length
    inside = [w for w in words if start <= (w.start + w.end) / 2 < end]  # Transcript.words_between
    events = layout_clip(inside, vertical(), start, end)
    rules = Rules.for_style("vertical")
    violations = check_events([CheckEvent.from_caption(e) for e in events], rules)
    assert [v for v in violations if v.rule in {MIN_DURATION, OVERLAP, GAP}] == []
    for ev in events:
        assert 0 <= ev.start < ev.end <= length + 1e-9
        assert all(0 <= w.start <= w.end <= length + 1e-9 for w in ev.words)


def test_vertical_lines_may_exceed_22_characters_only_without_a_legal_break() -> None:
    style = vertical()
    # 23 characters, no allowed break inside (after "pour" or "tes" is forbidden), fits the safe area.
    words = [Word(0.0, 0.4, "pour"), Word(0.45, 0.7, "tes"), Word(0.75, 1.6, "encouragements.")]
    assert layout_for_style(words, style)[0].lines == ("pour tes encouragements.",)
    assert style.line_fits("pour tes encouragements.")
    assert not style.line_fits("Je crois que l'économie sociale")
    # With a legal break the 22-character preference still holds.
    words = [Word(0.0, 0.5, "solidaires,"), Word(0.55, 1.0, "bienveillants"), Word(1.05, 1.5, "demain.")]
    assert layout_for_style(words, style)[0].lines == ("solidaires,", "bienveillants demain.")


# --- ASS / SRT / VTT ------------------------------------------------------------------


def test_karaoke_gives_one_event_per_word_with_the_active_word_highlighted() -> None:
    words = spoken(ESS)
    events = layout_captions(words, max_chars_per_line=22)
    subs = to_ssa(events, vertical(), karaoke=True)
    assert len(subs) == len(words)
    first = events[0]
    for i, w in enumerate(first.words):
        text = subs[i].text
        assert text.count("{\\c&H00D4FF&}") == 1  # #FFD400 as &HBBGGRR&
        assert f"{{\\c&H00D4FF&}}{w.text}{{\\r}}" in text
        assert text.replace("{\\c&H00D4FF&}", "").replace("{\\r}", "") == "\\N".join(first.lines)
    assert subs[0].start == round(first.start * 1000)
    assert subs[len(first.words) - 1].end == round(first.end * 1000)
    for a, b in itertools.pairwise(subs):
        assert a.end <= b.start


def test_the_active_word_takes_its_speakers_colour_where_the_series_gives_one() -> None:
    from dataclasses import replace as with_

    from touktouk.captions.styles import style_for
    from touktouk.config import BrandSettings, CaptionSettings

    words = [with_(w, speaker="host" if i < 4 else "guest") for i, w in enumerate(spoken(ESS))]
    captions = CaptionSettings(speaker_colours={"guest": "#22CC88"})
    style = style_for("vertical", BrandSettings(), captions)
    subs = to_ssa(layout_for_style(words, style), style, karaoke=True)
    guest_tag, highlight = "{\\c&H88CC22&}", "{\\c&H00D4FF&}"  # #22CC88 and the brand's #FFD400, as &HBBGGRR&
    by_word = list(zip(words, subs, strict=True))
    assert all(highlight in e.text and guest_tag not in e.text for w, e in by_word if w.speaker == "host")
    assert all(guest_tag in e.text and highlight not in e.text for w, e in by_word if w.speaker == "guest")
    assert style_for("classic", BrandSettings(), captions).speaker_colours == ()  # 16:9 has no karaoke


def test_ass_file_carries_the_style() -> None:
    style = vertical()
    subs = to_ssa(layout_captions(spoken(ESS), max_chars_per_line=22), style, karaoke=False)
    assert subs.info["PlayResX"] == "1080" and subs.info["PlayResY"] == "1920"
    assert subs.info["WrapStyle"] == "2"
    s = subs.styles[style.name]
    assert s.fontname == FONT and s.bold
    assert s.primarycolor == pysubs2.Color(255, 255, 255, 0)
    assert s.secondarycolor == pysubs2.Color(0xFF, 0xD4, 0x00, 0)
    assert s.marginv >= 1920 // 5
    assert "\\N" in subs[0].text
    classic = classic_style(font_name=FONT, primary="#FFFFFF", highlight="#FFD400")
    assert (classic.play_res_x, classic.play_res_y, classic.max_chars_per_line, classic.alignment) == (
        1920,
        1080,
        42,
        2,
    )


def test_braces_and_backslashes_cannot_become_ass_tags() -> None:
    words = [Word(0.0, 0.4, "{\\b1}gras"), Word(0.5, 0.9, "C:\\Nouveau}")]
    events = layout_captions(words, max_chars_per_line=42)
    for karaoke in (False, True):
        subs = to_ssa(events, vertical(), karaoke=karaoke)
        for ev in subs:
            visible = ev.text.replace("{\\c&H00D4FF&}", "").replace("{\\r}", "")
            assert "{" not in visible.replace("\\{", "") and "}" not in visible.replace("\\}", "")
            assert "\\N" not in visible and "\\b1" not in visible
            assert ev.plaintext  # pysubs2 still sees text, not an override block
    assert escape_ass_text("{x}") == "\\{x\\}"


def test_write_captions_writes_srt_vtt_and_ass(tmp_path: Path) -> None:
    events = layout_captions(spoken(ESS + " A < B & C ?"), max_chars_per_line=22)
    paths = write_captions(events, vertical(), tmp_path / "out", "clip01")
    assert set(paths) == {"srt", "vtt", "ass"} and all(p.exists() for p in paths.values())
    srt = paths["srt"].read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:00,000 --> ")
    assert "Je crois\nque l'économie sociale" in srt  # break before the conjunction
    vtt = paths["vtt"].read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ") and "A &lt; B &amp; C" in vtt
    reread = pysubs2.load(str(paths["srt"]))
    assert len(reread) == len(events)
    ass = pysubs2.load(str(paths["ass"]))
    assert len(ass) == sum(len(ev.words) for ev in events)


# --- ffmpeg ---------------------------------------------------------------------------


def test_escape_filter_path_escapes_both_levels() -> None:
    assert escape_filter_path("/a/b.ass") == "/a/b.ass"
    assert escape_filter_path("/l'a") == "/l\\\\\\'a"
    assert escape_filter_path("/a:b") == "/a\\\\:b"
    assert escape_filter_path("/a,b[c];d") == "/a\\,b\\[c\\]\\;d"
    assert escape_filter_path("/a\\b") == "/a\\\\\\\\b"


def _gray_frame(png: Path, width: int, height: int) -> bytes:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(png), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        check=True,
        capture_output=True,
    ).stdout
    assert len(raw) == width * height
    return raw


def _burn(ass: Path, png: Path, size: str) -> None:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=black:s={size}:d=1",
         "-vf", subtitles_filter(ass, FONTS_DIR), "-frames:v", "1", str(png)],
        check=True,
        capture_output=True,
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not on PATH")
def test_ffmpeg_burns_tricky_captions_from_a_tricky_directory(tmp_path: Path) -> None:
    work = tmp_path / "l'entretien, n°1 [brut]; 100%"
    tricky = "{L'ESS} : 100 % [utile] ; non, c'est l'économie à l'œuvre !"
    events = layout_captions(spoken(tricky), max_chars_per_line=22)
    assert all(ch in "".join(events[0].lines) for ch in "{}[];:'%,")
    events = [CaptionEvent(0.0, 1.0, events[0].lines, events[0].words)]
    style = vertical()
    paths = write_captions(events, style, work, "clip: l'essai", karaoke=False)
    png = work / "frame.png"
    _burn(paths["ass"], png, "1080x1920")
    pixels = _gray_frame(png, 1080, 1920)
    w = 1080
    caption_band = range(1920 - style.margin_v - 300, 1920 - style.margin_v + 10)
    lit = [(i % w, i // w) for i in range(len(pixels)) if pixels[i] > 128]
    assert lit, "nothing rendered"
    assert all(y in caption_band for _, y in lit)
    assert max(y for _, y in lit) < 1920 * 0.8  # above the bottom fifth (platform UI)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not on PATH")
def test_vertical_lines_fit_inside_the_side_margins_when_rendered(tmp_path: Path) -> None:
    # A 22-character line of wide capitals and accents: measure the rendered width.
    style = vertical()
    line = "FÉDÉRATION MONDIALE DU"[:22]
    events = [CaptionEvent(0.0, 1.0, (line, "ÉCONOMIE SOCIALE"), ())]
    paths = write_captions(events, style, tmp_path, "wide", karaoke=False)
    _burn(paths["ass"], tmp_path / "wide.png", "1080x1920")
    pixels = _gray_frame(tmp_path / "wide.png", 1080, 1920)
    xs = [i % 1080 for i in range(len(pixels)) if pixels[i] > 128]
    assert min(xs) >= 1080 * 0.05 and max(xs) <= 1080 * 0.95
    # Centred text stays clear of the TikTok/Reels button column on the right.
    assert max(xs) <= 1080 * (1 - PLATFORMS["tiktok"].safe_right)


# --- reading speed: rebalancing, condensing ---------------------------------------------


def test_a_fast_sentence_shares_the_time_of_the_short_one_after_it() -> None:
    # "Oui, c'est tout à fait vrai." said in 1.1 s could only be shown 1.12 s (25 cps) before
    # "Merci." needs the screen; one event for both reads at 17 cps in the silence after.
    words = [Word(0.0, 0.1, "Oui,"), Word(0.12, 0.32, "c'est"), Word(0.34, 0.54, "tout"), Word(0.56, 0.66, "à"),
             Word(0.68, 0.83, "fait"), Word(0.85, 1.1, "vrai."), Word(1.2, 1.6, "Merci.")]  # fmt: skip
    (ev,) = layout_captions(words, max_chars_per_line=42)
    assert ev.text == "Oui, c'est tout à fait vrai. Merci."
    assert len(ev.text) / (ev.end - ev.start) <= 17.0 + 1e-9


def test_words_after_a_pause_never_join_an_event_early() -> None:
    fast = spoken("Nous sommes d'accord avec la déclaration du comité olympique des États-Unis.")
    fast = [Word(w.start / 2, w.end / 2, w.text) for w in fast]  # about 30 characters a second
    later = spoken("Bien sûr.", t0=fast[-1].end + 2.0)
    events = layout_captions([*fast, *later], max_chars_per_line=42)
    assert events[-1].text == "Bien sûr." and events[-1].start == later[0].start


def test_condense_words_drops_fillers_and_stutters_only() -> None:
    said = "Euh, je je crois, ben, que oui, hein ? Ben est là. Nous nous sommes bien, bah, contents."
    words = [Word(i, i + 0.5, t) for i, t in enumerate(said.split())]
    kept, dropped = condense_words(words)
    assert " ".join(w.text for w in kept) == f"Je crois, que oui{NBSP}? Ben est là. Nous nous sommes bien, contents."
    assert [w.text for w in dropped] == ["Euh,", "je", "ben,", "hein", "bah,"] or [w.text for w in dropped] == [
        "Euh,", "je", "ben,", "hein ?", "bah,"]  # fmt: skip


def test_captions_too_fast_to_read_are_condensed_as_a_last_resort(caplog: pytest.LogCaptureFixture) -> None:
    said = "Alors euh, je je pense que, ben, on va y arriver."
    fast = [Word(w.start / 3, w.end / 3, w.text) for w in spoken(said)]
    rest = spoken("Vraiment, nous y croyons tous très fort, depuis le premier jour.", t0=3 * fast[-1].end + 0.3)
    after = [Word(w.start / 3, w.end / 3, w.text) for w in rest]  # no pause, as fast
    verbatim = layout_captions([*fast, *after], max_chars_per_line=42)
    with caplog.at_level("INFO", logger="touktouk.captions"):
        condensed = layout_captions([*fast, *after], max_chars_per_line=42, fillers=DISFLUENCIES)
    assert "euh" in verbatim[0].text and "je je" in verbatim[0].text
    assert condensed[0].text == "Alors je pense que,"
    assert len(condensed[0].text) < len(verbatim[0].text)
    assert "left out « euh, », « je », « ben, »" in caplog.text
    # Readable speech keeps every word, fillers included (condensing is the last resort).
    slow = spoken(said)
    assert [w.text for ev in layout_captions(slow, max_chars_per_line=42, fillers=DISFLUENCIES) for w in ev.words] == [
        w.text for w in slow
    ]


# --- shot changes ---------------------------------------------------------------------


def test_an_event_ends_at_a_shot_change_between_two_words() -> None:
    words = spoken(ESS)  # one event of 2 lines without cuts
    assert len(layout_captions(words, max_chars_per_line=42)) == 2
    i = next(k for k, w in enumerate(words) if w.text == "solidaire,")
    cut = (words[i].end + words[i + 1].start) / 2
    events = layout_captions(words, max_chars_per_line=42, cuts=[cut])
    assert any(ev.words[-1].text == "solidaire," for ev in events)
    assert all(not (ev.start < cut < ev.end) for ev in events), events
    before = next(ev for ev in events if ev.words[-1].text == "solidaire,")
    assert before.end <= cut - 2 / 25 + 1e-9
    rules = Rules.for_style("classic", cuts=[cut])
    assert check_events([CheckEvent.from_caption(e) for e in events], rules) == []


def test_a_shot_change_inside_a_word_or_too_soon_is_not_forced() -> None:
    words = [Word(0.0, 0.3, "Oui,"), Word(0.35, 1.5, "évidemment."), Word(1.6, 2.0, "Merci.")]
    events = layout_captions(words, max_chars_per_line=42, cuts=[0.33])  # "Oui," alone would be too short
    assert events[0].text == "Oui, évidemment."
    events = layout_captions(words, max_chars_per_line=42, cuts=[1.0])  # in the middle of a word
    assert "évidemment." in events[0].text


def test_layout_clip_takes_shot_changes_in_episode_time() -> None:
    words = spoken(ESS, t0=100.0)
    i = next(k for k, w in enumerate(words) if w.text == "solidaire,")
    cut = (words[i].end + words[i + 1].start) / 2
    events = layout_clip(words, vertical(), 99.0, words[-1].end + 1.0, cuts=[50.0, cut, 500.0])
    assert any(ev.words[-1].text == "solidaire," for ev in events)
    assert all(not (ev.start < cut - 99.0 < ev.end) for ev in events)


# --- square style, configured font ------------------------------------------------------


def test_square_style_measures_its_lines_and_passes_the_checker() -> None:
    style = square_style(font_name=FONT, primary="#FFFFFF", highlight="#FFD400")
    assert (style.play_res_x, style.play_res_y, style.measured) == (1080, 1080, True)
    assert STYLES["square"] is square_style
    events = layout_for_style(spoken(INTERVIEW), style)
    assert all(style.line_fits(line) for ev in events for line in ev.lines)
    rules = Rules.for_caption_style("square", style, fast_speech="verbatim")
    assert check_events([CheckEvent.from_caption(e) for e in events], rules) == []
    subs = to_ssa(events, style, karaoke=False)
    assert (subs.info["PlayResX"], subs.info["PlayResY"]) == ("1080", "1080")


def test_line_width_is_measured_with_the_configured_font() -> None:
    liberation = Path("/usr/share/fonts/truetype/liberation")
    if not (liberation / "LiberationSans-Bold.ttf").is_file():
        pytest.skip("fonts-liberation not installed")
    dejavu = vertical_style(font_name=FONT, primary="#FFFFFF", highlight="#FFD400", fonts_dir=str(FONTS_DIR))
    narrow = vertical_style(font_name="Liberation Sans", primary="#FFFFFF", highlight="#FFD400",
                            fonts_dir=str(liberation))  # fmt: skip
    assert dejavu.font_file() == FONTS_DIR / "DejaVuSans-Bold.ttf"
    assert narrow.font_file() == liberation / "LiberationSans-Bold.ttf"
    line = "L'économie sociale et solidaire"
    assert narrow.line_width(line) < dejavu.line_width(line) - 50  # Liberation is narrower than DejaVu
    assert not dejavu.line_fits(line) and narrow.line_fits(line)
    # The measurement follows the ASS font-size convention: ascender + descender = the size.
    font = ImageFont.truetype(str(narrow.font_file()), 1000)
    ascent, descent = font.getmetrics()
    expected = font.getlength(line) * narrow.font_size / (ascent + descent) + 2 * narrow.outline
    assert narrow.line_width(line) == pytest.approx(expected)
    # The layout uses it: a phrase with no legal break over 22 characters stays on one line only
    # where the configured font makes it fit the safe area.
    phrase = spoken("pour leurs encouragements")
    assert layout_for_style(phrase, narrow)[0].lines == ("pour leurs encouragements",)
    assert layout_for_style(phrase, dejavu)[0].lines == ("pour", "leurs encouragements")


def test_a_font_missing_from_fonts_dir_names_the_setting_to_fix(tmp_path: Path) -> None:
    style = vertical_style(font_name="Marianne", primary="#FFFFFF", highlight="#FFD400", fonts_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=r"brand\.font 'Marianne'.*brand\.fonts_dir"):
        style.line_width("Bonjour")


# --- keyword emphasis, emoji ------------------------------------------------------------


def test_keyword_key_ignores_case_accents_elisions_and_hashtags() -> None:
    assert keyword_key("L’Économie") == "economie"
    assert keyword_key("d'insertion,") == "insertion"
    assert keyword_key("#ESS") == "ess"
    assert keyword_key("«Ateliers") == "ateliers"


def test_ass_emphasises_keywords_and_the_highlight_wins_on_the_spoken_word() -> None:
    style = vertical_style(font_name=FONT, primary="#FFFFFF", highlight="#FFD400", emphasis="#00C8FF")
    said = "Camille Martin parle de l'Insertion avec les Ateliers du Lien, #ESS."
    words = spoken(said)
    events = layout_for_style(words, style)
    keywords = ["Camille Martin", "l'insertion", "Les Ateliers du Lien", "#ESS", "#InsertionPro"]
    subs = to_ssa(events, style, karaoke=True, keywords=keywords)
    emph, hl = "{\\c&HFFC800&}", "{\\c&H00D4FF&}"  # &HBBGGRR&
    text = " ".join(ev.text for ev in subs)
    for word in ("Camille", "Martin", "l'Insertion", "Ateliers", "Lien,", "#ESS."):
        assert f"{emph}{word}{{\\r}}" in text, word
    for word in ("parle", "avec", "de"):
        assert f"{emph}{word}" not in text, word
    first = subs[0].text  # "Camille" is being said: highlight colour, not emphasis
    assert f"{hl}Camille{{\\r}}" in first and f"{emph}Camille" not in first and f"{emph}Martin{{\\r}}" in first
    assert emph not in " ".join(ev.text for ev in to_ssa(events, style, karaoke=True))  # no keywords
    plain = vertical_style(font_name=FONT, primary="#FFFFFF", highlight="#FFD400")  # emphasis off
    assert emph not in " ".join(ev.text for ev in to_ssa(events, plain, karaoke=True, keywords=keywords))


def test_burnable_text_leaves_out_emoji_but_keeps_symbols_the_font_draws() -> None:
    font = vertical().font_file()
    assert burnable_text("Bravo 🎉 merci 👏🏽 !", font) == ("Bravo merci !", "🎉👏🏽")
    assert burnable_text("J'❤️ l'ESS", font) == ("J'❤ l'ESS", "\ufe0f")  # DejaVu draws ❤ itself
    assert burnable_text("50 % – « oui »", font) == ("50 % – « oui »", "")


def test_a_keyword_written_with_its_article_matches_without_it() -> None:
    cause = "le réemploi et l'insertion professionnelle"
    said = [
        ["Parlons", "du", "réemploi", "et", "de", "l'insertion"],
        ["réemploi", "et", "l'insertion", "professionnelle."],
    ]
    assert keyword_segments(said, [cause]) == {6, 7, 8, 9}, "the phrase said without its article"
    assert keyword_segments([["le", "réemploi", "et", "l'insertion", "professionnelle"]], [cause]) == {0, 1, 2, 3, 4}
    assert keyword_segments([["le", "chantier"]], ["le chantier"]) == {0, 1}
    assert keyword_segments([["un", "chantier"]], ["le chantier"]) == {1}
