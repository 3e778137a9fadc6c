"""The decisions model and its application (pure): word fixes on a transcript, drops and titles
on the clips, merging the doors in order, parsing the command line and the episode file."""

from __future__ import annotations

import re

import pytest

from touktouk.config import EpisodeConfig, SeriesConfig, WordFix
from touktouk.errors import ConfigError
from touktouk.review.decisions import Decisions, apply_to_plans, from_command_line, from_episode, from_glossary
from touktouk.review.fixes import apply_fixes
from touktouk.types import ClipPlan, Segment, Transcript, Word


def transcript(*segments: list[tuple[float, float, str]]) -> Transcript:
    segs = []
    for seg in segments:
        words = tuple(Word(a, b, t, 0.4) for a, b, t in seg)
        segs.append(Segment(words[0].start, words[-1].end, " ".join(w.text for w in words), words))
    return Transcript("fr", 10.0, tuple(segs))


RAW = transcript(
    [(0.0, 0.4, "Bonjour,"), (0.5, 1.0, "Jean-Carlo"), (1.0, 1.3, "fit-il"), (1.3, 1.6, "là."), (2.0, 2.5, "Machad")],
    [(5.0, 5.5, "À"), (5.5, 6.0, "machad,"), (6.0, 6.5, "Tuk"), (6.5, 7.0, "Tuk.")],
)


def test_a_fix_replaces_whole_words_in_any_case_and_spans_their_timings() -> None:
    fixed, counts = apply_fixes(RAW, [WordFix(wrong="jean-carlo FIT-IL là", right="Giancarlo Fisichella")])
    words = fixed.segments[0].words
    assert [w.text for w in words] == ["Bonjour,", "Giancarlo", "Fisichella.", "Machad"]
    assert (words[1].start, words[2].end) == (0.5, 1.6), "the replacement spans the replaced words"
    assert words[1].end == words[2].start and words[1].probability == 1.0
    assert fixed.segments[0].text == "Bonjour, Giancarlo Fisichella. Machad"
    assert fixed.segments[1] == RAW.segments[1]
    assert list(counts.values()) == [1]


def test_every_occurrence_or_only_the_one_at_a_time() -> None:
    everywhere, counts = apply_fixes(RAW, [WordFix(wrong="Machad", right="Mashhad")])
    assert [w.text for s in everywhere.segments for w in s.words if "ashhad" in w.text] == ["Mashhad", "Mashhad,"]
    once, _ = apply_fixes(RAW, [WordFix(wrong="Machad", right="Mashhad", at=5.6)])
    assert [w.text for s in once.segments for w in s.words if "ashhad" in w.text.lower() or "achad" in w.text] == [
        "Machad",
        "Mashhad,",
    ]
    assert "a" not in [w.text for s in RAW.segments for w in s.words], "the input is left as it was"
    assert counts[WordFix(wrong="Machad", right="Mashhad")] == 2
    # Half a word never matches: whole words only.
    assert apply_fixes(RAW, [WordFix(wrong="Mach", right="X")])[0] == RAW


def test_a_typed_fix_that_matches_nothing_is_a_clear_error_a_glossary_one_is_not() -> None:
    typo = WordFix(wrong="Machadd", right="Mashhad")
    with pytest.raises(ConfigError, match="'Machadd' → 'Mashhad' matches no words in the transcript"):
        apply_fixes(RAW, [typo], required=[typo])
    assert apply_fixes(RAW, [typo])[0] == RAW
    late = WordFix(wrong="Machad", right="Mashhad", at=9.5)
    with pytest.raises(ConfigError, match=r"matches no words at 9\.5 s"):
        apply_fixes(RAW, [late], required=[late])


def test_drops_titles_and_the_text_of_clips_whose_words_changed() -> None:
    plans = [
        ClipPlan("c00m00.0s", 0.0, 3.0, "Bonjour, Jean-Carlo fit-il là. Machad"),
        ClipPlan("c00m05.0s", 5.0, 7.0, "À machad, Tuk Tuk."),
    ]
    fixes = (WordFix(wrong="Tuk Tuk", right="ToukTouk"),)
    fixed, _ = apply_fixes(RAW, fixes)
    decided = Decisions(fixes=fixes, drop=("c00m00.0s",), titles={"c00m05.0s": "Le nom juste"})
    (clip,) = apply_to_plans(plans, decided, RAW, fixed, "episode.toml")
    assert (clip.id, clip.title, clip.text) == ("c00m05.0s", "Le nom juste", "À machad, ToukTouk.")
    untouched = apply_to_plans(plans, Decisions(), RAW, fixed, "episode.toml")
    assert untouched[0].text == plans[0].text, "a clip no fix touched keeps its text (and its files)"
    typed = from_command_line(drop=["c09m00.0s"])
    known = "episode.toml: no clip 'c09m00.0s' in this episode; its clips are c00m00.0s, c00m05.0s"
    with pytest.raises(ConfigError, match=re.escape(known)):
        apply_to_plans(plans, typed, RAW, fixed, "episode.toml")
    assert len(apply_to_plans(plans, typed.relaxed(), RAW, fixed, "episode.toml")) == 2, "a stored drop may be stale"


def test_the_doors_merge_in_order_and_parse() -> None:
    episode = EpisodeConfig.model_validate(
        {"number": 1, "slug": "a", "title": "A", "fixes": [{"wrong": "Machad", "right": "Mashhad", "at": "00:00:05"}],
         "drop": ["c00m00.0s"], "titles": {"c00m05.0s": "Du fichier"}}
    )  # fmt: skip
    series = SeriesConfig.model_validate({"glossary": [{"wrong": "Tuk Tuk", "right": "ToukTouk"}]})
    cli = from_command_line(fixes=["fit-il là=Fisichella"], titles=["c00m05.0s=De la ligne de commande"])
    stored = Decisions.from_dict({"drop": ["c01m00.0s"], "titles": {"c00m05.0s": "Ancien"}})
    merged = from_glossary(series.glossary).merged(stored).merged(from_episode(episode)).merged(cli)
    assert [f.right for f in merged.fixes] == ["ToukTouk", "Mashhad", "Fisichella"]
    assert merged.fixes[1].at == 5.0
    assert merged.drop == ("c01m00.0s", "c00m00.0s")
    assert merged.titles == {"c00m05.0s": "De la ligne de commande"}
    assert set(merged.strict_fixes) == {merged.fixes[1], merged.fixes[2]}, "the glossary may match nothing"
    assert "c01m00.0s" not in merged.strict_ids
    assert Decisions.from_dict(merged.to_dict()).to_dict() == merged.to_dict()
    for bad, message in (("--fix", "Tuk Tuk"), ("--title", "c00m05.0s")):
        with pytest.raises(ConfigError, match=f"{bad} '{message}' needs the form"):
            from_command_line(**{bad.strip("-") + ("es" if bad == "--fix" else "s"): [message]})
