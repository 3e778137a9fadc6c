"""Unit tests for touktouk.timeline: timecodes, Whisper token merging, transcript round trips."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from touktouk.french import merge_elisions
from touktouk.types import Segment, Transcript, Word, format_timecode, parse_timecode

# --- parse_timecode ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("42", 42.0),
        ("42.5", 42.5),
        ("42,5", 42.5),
        ("  7  ", 7.0),
        ("90", 90.0),  # plain seconds may exceed 59
        ("01:15", 75.0),  # 75 seconds written as MM:SS
        ("1:15", 75.0),
        ("00:59,250", 59.25),
        ("75:00", 4500.0),  # MM:SS without hours: minutes are not capped
        ("00:01:15", 75.0),
        ("01:02:03", 3723.0),
        ("01:02:03.5", 3723.5),
        ("01:02:03,25", 3723.25),
        ("10:00:00", 36000.0),
    ],
)
def test_parse_timecode_accepts_documented_forms(text: str, seconds: float) -> None:
    assert parse_timecode(text) == pytest.approx(seconds)


@pytest.mark.parametrize("number", [0, 12, 12.75, 3600])
def test_parse_timecode_passes_non_negative_numbers_through(number: float) -> None:
    result = parse_timecode(number)
    assert isinstance(result, float)
    assert result == number


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "   ",
        "abc",
        "12s",
        "1m30",
        "1.2.3",
        "1,5,5",
        ":30",
        "30:",
        "01:02:03:04",
        "1e3",
        "nan",
        "inf",
        "00:75",  # 75 seconds may only be written as plain seconds or 01:15
        "01:60",
        "00:00:60",
        "01:60:00",  # minutes must be below 60 when hours are given
        "1:30.5:00",
    ],
)
def test_parse_timecode_rejects_garbage(garbage: str) -> None:
    with pytest.raises(ValueError):
        parse_timecode(garbage)


@pytest.mark.parametrize("negative", [-1, -0.5, "-5", "-00:10", "-01:00:00"])
def test_parse_timecode_rejects_negative_times(negative: str | float) -> None:
    with pytest.raises(ValueError):
        parse_timecode(negative)


def test_parse_timecode_error_message_shows_the_value_and_the_expected_form() -> None:
    with pytest.raises(ValueError, match=r"'1m30'.*HH:MM:SS"):
        parse_timecode("1m30")


def test_parse_timecode_rejects_nan() -> None:
    with pytest.raises(ValueError):
        parse_timecode(math.nan)


# --- format_timecode --------------------------------------------------------------------


def test_format_timecode_known_values() -> None:
    assert format_timecode(0) == "00:00:00.000"
    assert format_timecode(3723.5) == "01:02:03.500"
    assert format_timecode(3723.5, sep=",") == "01:02:03,500"
    assert format_timecode(75.25, hours=False) == "01:15.250"
    # hours=False still shows hours when there are some, rather than wrapping minutes.
    assert format_timecode(3723.5, hours=False) == "01:02:03.500"
    # Rounding to the millisecond carries into seconds and minutes.
    assert format_timecode(59.9996) == "00:01:00.000"
    assert format_timecode(-3) == "00:00:00.000"


@given(
    seconds=st.floats(min_value=0, max_value=400_000, allow_nan=False, allow_infinity=False),
    sep=st.sampled_from([".", ","]),
    hours=st.booleans(),
)
def test_format_then_parse_round_trips_to_the_millisecond(seconds: float, sep: str, hours: bool) -> None:
    text = format_timecode(seconds, sep=sep, hours=hours)
    assert abs(parse_timecode(text) - seconds) <= 0.0005 + 1e-9


@given(ms=st.integers(min_value=0, max_value=360_000_000))
def test_format_of_whole_milliseconds_is_exact(ms: int) -> None:
    text = format_timecode(ms / 1000)
    assert round(parse_timecode(text) * 1000) == ms
    # Round trip again through the formatter: a fixed point.
    assert format_timecode(parse_timecode(text)) == text


# --- merge_elisions ---------------------------------------------------------------------


def _tokens(*texts: str, step: float = 0.25) -> list[Word]:
    return [Word(i * step, (i + 1) * step, t, 0.9) for i, t in enumerate(texts)]


def _texts(words: list[Word]) -> list[str]:
    return [w.text for w in words]


def test_merge_elisions_joins_d_and_etre() -> None:
    raw = _tokens(" Je", " suis", " ravi", " d", "'être", " ici")
    merged = merge_elisions(raw)
    assert _texts(merged) == ["Je", "suis", "ravi", "d'être", "ici"]
    detre = merged[3]
    assert detre.start == raw[3].start
    assert detre.end == raw[4].end


@pytest.mark.parametrize("apostrophe", ["'", "’"])
def test_merge_elisions_joins_l_and_economie(apostrophe: str) -> None:
    merged = merge_elisions(_tokens(" de", " l", f"{apostrophe}économie", " sociale"))
    assert _texts(merged) == ["de", f"l{apostrophe}économie", "sociale"]


def test_merge_elisions_joins_after_a_trailing_apostrophe() -> None:
    # Whisper sometimes keeps the apostrophe on the first token instead.
    merged = merge_elisions(_tokens(" l'", "économie", " qu’", "elle"))
    assert _texts(merged) == ["l'économie", "qu’elle"]


def test_merge_elisions_joins_hyphenated_continuations() -> None:
    assert _texts(merge_elisions(_tokens(" peut", "-être", " demain"))) == ["peut-être", "demain"]


def test_merge_elisions_takes_the_lower_probability_of_an_elision() -> None:
    raw = [Word(0, 0.2, " d", 0.95), Word(0.2, 0.6, "'être", 0.4)]
    (merged,) = merge_elisions(raw)
    assert merged.probability == 0.4


@pytest.mark.parametrize("punct", [",", ".", "?", "!", "…", ";", ":", "»", ")"])
def test_merge_elisions_attaches_punctuation_only_tokens(punct: str) -> None:
    raw = _tokens(" Bonjour", punct, " Awa")
    merged = merge_elisions(raw)
    assert _texts(merged) == [f"Bonjour{punct}", "Awa"]
    assert merged[0].start == raw[0].start
    assert merged[0].end == raw[1].end


def test_merge_elisions_keeps_the_end_of_the_word_when_punctuation_has_a_zero_timestamp() -> None:
    raw = [Word(1.0, 1.5, " fin"), Word(1.2, 1.2, ".")]
    (merged,) = merge_elisions(raw)
    assert (merged.start, merged.end, merged.text) == (1.0, 1.5, "fin.")


def test_merge_elisions_strips_leading_spaces_and_drops_blank_tokens() -> None:
    merged = merge_elisions(_tokens(" Bonjour", "   ", "", " à", "\ttous"))
    assert _texts(merged) == ["Bonjour", "à", "tous"]


def test_merge_elisions_keeps_a_separate_word_with_a_leading_space() -> None:
    assert _texts(merge_elisions(_tokens(" le", " débat"))) == ["le", "débat"]


def test_merge_elisions_handles_a_first_token_without_a_leading_space() -> None:
    assert _texts(merge_elisions(_tokens("Alors", ",", " voilà"))) == ["Alors,", "voilà"]


def test_merge_elisions_empty() -> None:
    assert merge_elisions([]) == []


_token_text = st.one_of(
    st.sampled_from([" d", "'être", " l", "’économie", ",", ".", " ?", "-être", " ", "", " mot", "mot", "l'"]),
    st.text(max_size=6),
)


@given(st.lists(_token_text, max_size=30))
def test_merge_elisions_never_loses_or_invents_characters(texts: list[str]) -> None:
    raw = _tokens(*texts)
    merged = merge_elisions(raw)
    assert "".join(t.strip() for t in texts) == "".join(w.text for w in merged)
    assert len(merged) <= len(raw)
    for w in merged:
        assert w.text
        assert w.text == w.text.strip()
        assert w.start <= w.end
    assert [w.start for w in merged] == sorted(w.start for w in merged)


# --- Word / Transcript ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ends"),
    [
        ("tous.", True),
        ("va?", True),
        ("!", True),
        ("alors…", True),
        ("fini.»", True),
        ('dit."', True),
        ("(vraiment).", True),
        ("vraiment)", False),
        ("3,5", False),
        ("l'économie", False),
        ("Bonjour,", False),
    ],
)
def test_word_ends_sentence(text: str, ends: bool) -> None:
    assert Word(0, 1, text).ends_sentence is ends


def _sample_transcript() -> Transcript:
    w1 = (Word(0.0, 0.4, "Bonjour", 0.98), Word(0.4, 0.9, "à", 0.7), Word(0.9, 1.3, "tous.", 0.5))
    w2 = (Word(2.0, 2.6, "L'économie", 0.91), Word(2.6, 3.1, "sociale…", 1.0))
    return Transcript(
        language="fr",
        duration=4.25,
        segments=(
            Segment(0.0, 1.3, " Bonjour à tous.", w1),
            Segment(2.0, 3.1, " L'économie sociale…", w2),
        ),
        model="base",
        backend="faster-whisper",
    )


def test_transcript_dict_round_trip_through_json() -> None:
    transcript = _sample_transcript()
    data = json.loads(json.dumps(transcript.to_dict(), ensure_ascii=False))
    assert Transcript.from_dict(data) == transcript


def test_transcript_from_dict_defaults_model_and_backend() -> None:
    data = _sample_transcript().to_dict()
    del data["model"], data["backend"]
    loaded = Transcript.from_dict(data)
    assert (loaded.model, loaded.backend) == ("", "")
    assert loaded.segments == _sample_transcript().segments


_finite = st.floats(min_value=0, max_value=1e5, allow_nan=False, allow_infinity=False)
_words = st.builds(Word, _finite, _finite, st.text(max_size=8), st.floats(0, 1))
_segments = st.builds(Segment, _finite, _finite, st.text(max_size=20), st.lists(_words, max_size=5).map(tuple))


@given(
    st.builds(
        Transcript,
        st.sampled_from(["fr", "en"]),
        _finite,
        st.lists(_segments, max_size=4).map(tuple),
        st.text(max_size=10),
        st.text(max_size=10),
    )
)
def test_transcript_round_trip_property(transcript: Transcript) -> None:
    assert Transcript.from_dict(json.loads(json.dumps(transcript.to_dict()))) == transcript


def test_transcript_words_and_text_span_all_segments() -> None:
    transcript = _sample_transcript()
    assert [w.text for w in transcript.words] == ["Bonjour", "à", "tous.", "L'économie", "sociale…"]
    assert transcript.text == "Bonjour à tous. L'économie sociale…"


def test_words_between_uses_the_half_open_midpoint_rule() -> None:
    words = tuple(Word(float(i), float(i + 1), f"w{i}") for i in range(4))  # midpoints 0.5 1.5 2.5 3.5
    transcript = Transcript("fr", 4.0, (Segment(0, 4, "", words),))

    def between(a: float, b: float) -> list[str]:
        return [w.text for w in transcript.words_between(a, b)]

    assert between(0.0, 4.0) == ["w0", "w1", "w2", "w3"]
    assert between(0.5, 1.5) == ["w0"]  # start inclusive, end exclusive
    assert between(0.51, 1.51) == ["w1"]
    assert between(1.0, 3.0) == ["w1", "w2"]  # a word half inside counts by its midpoint
    assert between(1.6, 2.4) == []
    assert between(2.0, 2.0) == []
    assert between(3.0, 1.0) == []
