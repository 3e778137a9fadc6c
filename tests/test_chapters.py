"""YouTube chapters from the transcript: real French interviews (seed text, synthetic timings) and properties."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touktouk.clips.chapters import (
    MIN_EPISODE_S,
    NBSP,
    Chapter,
    Chapters,
    chapter_title,
    find_chapters,
    format_chapters,
    timestamp,
)
from touktouk.clips.sentences import sentences
from touktouk.clips.texts import DEFAULT_TEMPLATES, describe, with_chapters
from touktouk.platforms import PLATFORMS
from touktouk.types import Segment, Transcript, Word

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "brandnewsblog-interviews-fr.txt"
_SPEAKER = re.compile(r"^[A-ZÉ][\w .’'-]{2,40} : ")


def timed(
    paragraphs: Sequence[str], wps: float = 2.6, sentence_pause: float = 0.4, para_pause: float = 1.2
) -> Transcript:
    """Words said at `wps` words per second (90 % of each slot), short pauses after sentences and paragraphs."""
    t, segments = 0.0, []
    for text in paragraphs:
        words = []
        for token in text.split():
            words.append(Word(round(t, 3), round(t + 0.9 / wps, 3), token))
            t += 1 / wps + (sentence_pause if words[-1].ends_sentence else 0.0)
        segments.append(Segment(words[0].start, words[-1].end, text, tuple(words)))
        t += para_pause
    return Transcript("fr", round(t, 3), tuple(segments))


def seed_interview(first_line: str, next_title: str) -> Transcript:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(first_line))
    last = next(i for i, line in enumerate(lines) if i > first and line.startswith(next_title))
    return timed([_SPEAKER.sub("", line).strip() for line in lines[first:last] if line.strip()])


INTERVIEWS = {
    # Anthony Babkine (Diversidays, ToukTouk): questions and long answers, about 20 minutes.
    "diversidays": ("Le BrandNewsBlog : Bonjour Anthony", "Marketeurs.euses"),
    # Fadhila Brahimi on personal branding: another guest, another topic.
    "personal-branding": ("Fadhila Brahimi : Le personal branding", "Crédit photos"),
}


@pytest.fixture(scope="module", params=sorted(INTERVIEWS))
def interview(request: pytest.FixtureRequest) -> Transcript:
    if not SEED.is_file():
        pytest.skip("the shared seed interviews are not here")
    return seed_interview(*INTERVIEWS[request.param])


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace(NBSP, " "))
    return re.sub(r"\s+([?!:;»])", r"\1", text).replace("« ", "«")


def assert_youtube_rules(chapters: Chapters, duration: float) -> None:
    starts = [c.start for c in chapters.items]
    assert len(starts) >= 3
    assert starts[0] == 0.0
    assert all(float(s).is_integer() for s in starts)
    assert all(b - a >= 10 for a, b in itertools.pairwise(starts))
    assert duration - starts[-1] >= 10
    assert all(c.title.strip() for c in chapters.items)


def test_interview_chapters_follow_youtube_rules(interview: Transcript) -> None:
    chapters = find_chapters(interview)
    assert_youtube_rules(chapters, interview.duration)
    assert 3 <= len(chapters.items) <= 12
    assert "lexical cohesion" in chapters.note
    lines = format_chapters(chapters).splitlines()
    assert lines[0].startswith("0:00 ")
    assert all(re.fullmatch(r"\d{1,2}:\d{2} \S.*", line) for line in lines)


def test_chapter_titles_are_french_words_from_the_transcript(interview: Transcript) -> None:
    said = [_fold(" ".join(w.text for w in s.words)) for s in sentences(interview.words)]
    for chapter in find_chapters(interview).items:
        title = _fold(chapter.title)
        assert len(chapter.title) <= 51
        head = title.removesuffix("…")
        assert any(head[1:] in s for s in said), title  # the first letter may have been capitalised
        assert not re.search(r" [?!:;]", chapter.title)  # French spacing is non-breaking


def test_chapters_start_at_sentence_starts(interview: Transcript) -> None:
    starts = {int(s.start) for s in sentences(interview.words)}
    assert all(int(c.start) in starts for c in find_chapters(interview).items[1:])


def test_chapters_are_deterministic(interview: Transcript) -> None:
    assert find_chapters(interview) == find_chapters(Transcript.from_dict(interview.to_dict()))


TOPICS = {
    "ressourcerie": "La ressourcerie collecte les objets, répare les meubles et revend les objets réparés.",
    "vélo": "À l'atelier vélo, les bénévoles apprennent aux habitants à réparer leur vélo et leurs freins.",
    "potager": "Le jardin partagé produit des légumes, des tomates et des salades cultivées au potager.",
}


def test_chapter_boundaries_fall_where_the_topic_changes() -> None:
    paragraphs = [TOPICS[t] for t in ("ressourcerie", "vélo", "potager") for _ in range(12)]
    transcript = timed(paragraphs, para_pause=0.4)
    chapters = find_chapters(transcript, target_chapter_s=transcript.duration / 3)
    sents = sentences(transcript.words)
    changes = [int(sents[12].start), int(sents[24].start)]
    assert [c.start for c in chapters.items] == [0.0, *changes]
    assert [c.title for c in chapters.items] == [chapter_title([TOPICS[t]]) for t in TOPICS]


def test_a_new_question_after_a_pause_opens_a_chapter() -> None:
    same = "Nous parlons toujours de la même ressourcerie et de ses objets réparés."
    paragraphs = [same] * 10 + ["Et comment voyez-vous la suite de votre ressourcerie ?"] + [same] * 10
    transcript = timed(paragraphs)
    transcript = Transcript("fr", transcript.duration, transcript.segments)
    chapters = find_chapters(transcript, min_episode_s=60.0, target_chapter_s=transcript.duration / 3)
    question_start = int(sentences(transcript.words)[10].start)
    assert question_start in [c.start for c in chapters.items]
    (title,) = [c.title for c in chapters.items if c.start == question_start]
    assert title == "Comment voyez-vous la suite de votre…"  # « Et » dropped, cut at a word before 50 characters


def test_short_episodes_get_no_chapters_and_say_why() -> None:
    short = timed([TOPICS["vélo"]] * 5)
    assert short.duration < MIN_EPISODE_S
    chapters = find_chapters(short)
    assert not chapters and chapters.items == ()
    assert "chapters start from 120 s" in chapters.note


def test_too_few_sentences_give_no_chapters() -> None:
    words = tuple(Word(float(i), i + 0.5, "mot") for i in range(300))  # one 300 s sentence, no full stop
    chapters = find_chapters(Transcript("fr", 300.0, (Segment(0.0, 300.0, "", words),)))
    assert not chapters and "sentence" in chapters.note


@pytest.mark.parametrize(
    "texts, title",
    [
        (["Euh, alors, et donc on a lancé la ressourcerie en 2015."], "On a lancé la ressourcerie en 2015."),
        (["Bonjour.", "Pourquoi avoir créé une ressourcerie ?"], f"Pourquoi avoir créé une ressourcerie{NBSP}?"),
        (
            ["Le mot « ressourcerie » dit tout : on répare."],
            f"Le mot «{NBSP}ressourcerie{NBSP}» dit tout{NBSP}: on répare.",
        ),
        (
            ["Notre première année consistait à lancer l’initiative Diversidays, et à tester des méthodes."],
            "Notre première année consistait à lancer…",
        ),
    ],
)
def test_chapter_title(texts: list[str], title: str) -> None:
    assert chapter_title(texts) == title


@pytest.mark.parametrize(
    "seconds, text", [(0, "0:00"), (9.9, "0:09"), (65, "1:05"), (3599, "59:59"), (3600, "1:00:00"), (3723, "1:02:03")]
)
def test_timestamps_as_youtube_reads_them(seconds: float, text: str) -> None:
    assert timestamp(seconds) == text


_words = st.sampled_from(
    ["ressourcerie", "vélo", "jardin", "emploi", "quartier", "réparer", "légumes", "association", "mot"]
)


@settings(max_examples=40, deadline=None)
@given(
    plan=st.lists(
        st.tuples(
            st.lists(_words, min_size=1, max_size=25),
            st.sampled_from([".", " ?", "!"]),
            st.sampled_from([0.0, 0.3, 1.5, 4.0]),
        ),
        min_size=1,
        max_size=80,
    ),
    wps=st.sampled_from([0.5, 1.0, 2.5]),
)
def test_chapter_properties(plan: list[tuple[list[str], str, float]], wps: float) -> None:
    t, segments = 0.0, []
    for tokens, end, pause in plan:
        text = " ".join(tokens).capitalize() + end
        words = []
        for token in text.split():
            words.append(Word(t, t + 0.9 / wps, token))
            t += 1 / wps
        segments.append(Segment(words[0].start, words[-1].end, text, tuple(words)))
        t += pause
    transcript = Transcript("fr", t, tuple(segments))
    chapters = find_chapters(transcript)
    if transcript.duration < MIN_EPISODE_S or len(plan) < 3:
        assert not chapters
    if chapters:
        assert_youtube_rules(chapters, transcript.duration)
        assert len(chapters.items) <= 12
    else:
        assert chapters.note


# --- the YouTube description ------------------------------------------------------------


def _youtube_text(hook: str = "Un entretien sans filtre.") -> str:
    fields = {"series": "ToukTouk", "guest": "Anthony Babkine", "organisation": "Diversidays", "hook": hook}
    fields["cause"] = "l'égalité des chances"
    meta = describe(PLATFORMS["youtube"], fields, ["#ESS", "#Diversité"], DEFAULT_TEMPLATES["youtube"])
    return str(meta["text"])


CHAPTERS = [Chapter(0.0, "Les débuts"), Chapter(161.0, f"Pourquoi{NBSP}?"), Chapter(3723.0, "La suite")]


def test_description_gets_the_chapter_block_before_the_hashtags() -> None:
    text = with_chapters(_youtube_text(), CHAPTERS)
    assert "\n\nChapitres :\n0:00 Les débuts\n2:41 Pourquoi\u00a0?\n1:02:03 La suite\n\n#ESS #Diversité" in text
    assert text.startswith("Un entretien sans filtre.")


def test_description_keeps_the_chapters_and_shortens_the_body_to_fit() -> None:
    long_hook = "Un très long entretien. " * 400
    text = with_chapters(_youtube_text(long_hook), CHAPTERS)
    assert len(text.encode("utf-8")) <= PLATFORMS["youtube"].text_limit
    assert "Chapitres :\n0:00 Les débuts" in text and text.endswith("#ESS #Diversité")
    assert "…" in text


def test_description_without_enough_chapters_is_unchanged() -> None:
    assert with_chapters(_youtube_text(), CHAPTERS[:2]) == _youtube_text()
    assert with_chapters("Court.", CHAPTERS, limit=10) == "Court."  # no room for the list at all


def test_chapters_found_in_an_interview_go_into_its_description() -> None:
    if not SEED.is_file():
        pytest.skip("the shared seed interviews are not here")
    transcript = seed_interview(*INTERVIEWS["diversidays"])
    text = with_chapters(_youtube_text(), find_chapters(transcript).items)
    block = text.split("Chapitres :\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert block[0].startswith("0:00 ") and len(block) >= 3
