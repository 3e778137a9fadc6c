"""Suspect-word flags (`touktouk.review.suspects`) and the alignment of benchmarks/confidence.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from touktouk.review.suspects import (
    AMONG_SUSPECTS,
    DEFAULT_THRESHOLD,
    NAME_NOT_IN_VOCABULARY,
    NOT_FRENCH,
    NOT_FRENCH_BELOW,
    TOO_LONG,
    TOO_LONG_S,
    TOO_SHORT,
    TOO_SHORT_S,
    flag_words,
    french_lexicon,
    is_french_word,
    is_name_like,
    vocabulary_terms,
    word_keys,
)
from touktouk.types import Word

ROOT = Path(__file__).resolve().parents[1]


def sentence(*items: str | tuple[str, float], step: float = 0.3) -> list[Word]:
    """Words 0.3 s apart, each 0.25 s long; an item is a text (probability 0.95) or (text, probability)."""
    words = []
    for i, item in enumerate(items):
        text, p = (item, 0.95) if isinstance(item, str) else item
        words.append(Word(i * step, i * step + 0.25, text, p))
    return words


def test_empty_input_gives_no_flags() -> None:
    assert flag_words([]) == []
    assert flag_words([], vocabulary=["Awa Diallo"]) == []


def test_confident_ordinary_words_are_not_flagged() -> None:
    words = sentence("Nous", "réparons", "les", "objets", "du", "quartier.")
    assert flag_words(words) == [()] * 6


def test_low_probability_is_flagged_with_its_value() -> None:
    words = sentence("Nous", ("réparons", 0.42), "les", ("objets", DEFAULT_THRESHOLD), "ici.")
    flags = flag_words(words)
    assert flags[1] == ("low probability 0.42",)
    assert flags[3] == ()  # at the threshold: not below it
    assert [bool(f) for f in flags] == [False, True, False, False, False]


def test_threshold_is_a_parameter() -> None:
    words = sentence("Nous", ("réparons", 0.65), "ici.")
    assert flag_words(words, threshold=0.5)[1] == ()
    assert flag_words(words, threshold=0.7)[1] == ("low probability 0.65",)


def test_name_absent_from_vocabulary_is_flagged_and_present_is_not() -> None:
    words = sentence("Nous", "avons", "rencontré", "Awa", "Diallo", "hier.")
    flags = flag_words(words)
    assert flags[3] == (NAME_NOT_IN_VOCABULARY,)
    assert flags[4] == (NAME_NOT_IN_VOCABULARY,)
    # Case and accents do not matter; the vocabulary strings are split into words.
    known = flag_words(words, vocabulary=["awa DIALLO", "Ressourcerie du Canal"])
    assert known == [()] * 6
    # Another name of the vocabulary does not cover this one.
    assert flag_words(words, vocabulary=["Awa Traoré"])[4] == (NAME_NOT_IN_VOCABULARY,)


def test_names_after_an_elision_and_with_accents_match_the_vocabulary() -> None:
    words = sentence("La", "déclaration", "de", "l'Usoc,", "puis", "l’École", "Bennet.")
    assert flag_words(words)[3] == (NAME_NOT_IN_VOCABULARY,)
    assert flag_words(words)[5] == ()  # "école" is a French word: a capital alone is no reason
    assert flag_words(words)[6] == (NAME_NOT_IN_VOCABULARY,)
    flags = flag_words(words, vocabulary=["USOC", "ecole bennet"])
    assert flags == [()] * 7


def test_name_like_french_words_are_not_flagged_as_names() -> None:
    # FLEURS: "États-Unis", "l'État" and "Caroline" mid-sentence; only the last is no French word.
    words = sentence("des", "États-Unis,", "de", "l'État", "en", "Caroline")
    assert flag_words(words) == [(), (), (), (), (), (NAME_NOT_IN_VOCABULARY,)]


def test_sentence_start_capitals_are_not_names() -> None:
    words = sentence("Bonjour.", "Nous", "sommes", "là.", "Chaque", "année", "revient!", "«Merci»", "dit-elle.")
    assert flag_words(words) == [()] * 9
    assert flag_words(sentence("Bennet", "vient.")) == [(), ()]
    # The same word in the middle of a sentence is one.
    assert flag_words(sentence("Et", "puis", "Bennet", "vient."))[2] == (NAME_NOT_IN_VOCABULARY,)


def test_odd_casing_is_name_like_even_at_sentence_start() -> None:
    assert is_name_like("USOC", sentence_start=True)
    assert is_name_like("iPhone", sentence_start=False)
    assert is_name_like("Jean-Pierre,", sentence_start=True)
    assert is_name_like("L'Usoc", sentence_start=True)
    assert not is_name_like("L'école", sentence_start=True)
    assert not is_name_like("A", sentence_start=True)
    assert not is_name_like("100", sentence_start=False)
    assert not is_name_like("…", sentence_start=False)


def test_low_probability_inside_a_whole_vocabulary_term_is_not_flagged() -> None:
    words = sentence("en", ("Caroline", 0.34), ("du", 0.06), ("Nord,", 0.0), "chaque", ("année", 0.2))
    without = flag_words(words)
    assert without[1] == ("low probability 0.34", NAME_NOT_IN_VOCABULARY)
    assert without[3] == ("low probability 0.00",)  # "nord" is a French word
    flags = flag_words(words, vocabulary=["Caroline du Nord"])
    assert flags[:4] == [(), (), (), ()]
    assert flags[5] == ("low probability 0.20",)  # outside the term
    # A part of a term is no whole occurrence: the low probability stays, the name is known.
    part = flag_words(sentence("les", ("États-Unis.", 0.14)), vocabulary=["Comité olympique des États-Unis"])
    assert part[1] == ("low probability 0.14",)


def test_duration_extremes() -> None:
    words = [
        Word(0.0, 0.3, "Nous", 0.99),
        Word(0.3, 0.3 + TOO_SHORT_S / 2, "sommes", 0.99),
        Word(0.4, 0.4 + TOO_LONG_S + 0.5, "ensemble", 0.99),
        Word(2.5, 2.5 + TOO_SHORT_S, "ici", 0.99),  # exactly the limit: fine
        Word(2.6, 2.6 + TOO_LONG_S, "vraiment.", 0.99),  # exactly the limit: fine
    ]
    assert flag_words(words) == [(), (TOO_SHORT,), (TOO_LONG,), (), ()]
    assert flag_words(words, too_short=0.0, too_long=10.0) == [()] * 5


def test_zero_length_words_are_too_short_and_reasons_add_up() -> None:
    words = [Word(1.0, 1.0, "n'en", 0.40), Word(1.0, 1.0, "Limpic", 0.99), Word(1.2, 1.1, "ça", 0.99)]
    assert flag_words(words) == [
        ("low probability 0.40", TOO_SHORT),
        (NAME_NOT_IN_VOCABULARY, TOO_SHORT),
        (TOO_SHORT,),  # ends before it starts
    ]


def test_word_keys_and_vocabulary_terms() -> None:
    assert word_keys("l’État-Unis,") == ("etat", "unis")
    assert word_keys("d'accord") == ("accord",)
    assert word_keys("  «Qu'à»  ") == ("a",)
    assert vocabulary_terms(["#EconomieSociale", " ", "#ESS", "Awa Diallo"]) == [
        ("economie", "sociale"),
        ("ess",),
        ("awa", "diallo"),
    ]


def test_one_flag_tuple_per_word() -> None:
    words = sentence(*[("mot", 0.1 * i) for i in range(10)])
    flags = flag_words(words, threshold=0.45)
    assert len(flags) == 10
    assert [bool(f) for f in flags] == [True] * 5 + [False] * 5


# --- benchmarks/confidence.py: the alignment that says which words are wrong ------------------


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    name = "touktouk_benchmarks_confidence"
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "confidence.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_align_marks_matches_substitutions_insertions_and_deletions(bench: ModuleType) -> None:
    assert bench.align(list("abc"), list("abc")) == [("ok", 0, 0), ("ok", 1, 1), ("ok", 2, 2)]
    assert bench.align(list("axc"), list("abc")) == [("ok", 0, 0), ("sub", 1, 1), ("ok", 2, 2)]
    assert bench.align(list("abyc"), list("abc")) == [("ok", 0, 0), ("ok", 1, 1), ("ins", 2, None), ("ok", 3, 2)]
    assert bench.align(list("ac"), list("abc")) == [("ok", 0, 0), ("del", None, 1), ("ok", 1, 2)]
    assert bench.align([], ["a"]) == [("del", None, 0)]
    assert bench.align(["a"], []) == [("ins", 0, None)]


def test_wrong_words_on_normalised_words(bench: ModuleType) -> None:
    normalise = bench._bench_transcribe().normalise
    texts = ["Nous", "sommes", "d'accord", "avec", "l'Usoc,", "comité", "au", "Limpic", "des", "États-Unis."]
    reference = "nous sommes d'accord avec l'usoc comité olympique des états-unis"
    wrong, deleted = bench.wrong_words(texts, reference, normalise)
    # "au Limpic" for "olympique": one substitution and one insertion; case and punctuation are no error.
    assert wrong == [False] * 6 + [True, True, False, False]
    assert deleted == 0
    # A word that normalises to several words is wrong when any of them is; a missed word is counted.
    wrong, deleted = bench.wrong_words(
        ["avec", "100", "de", "certitude"], "avec cent pour cent de certitudes", normalise
    )
    assert wrong == [False, False, False, True]
    assert deleted == 2


def test_benchmark_refuses_to_run_without_the_fleurs_clips(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fleurs-fr-001.ogg").write_bytes(b"")
    monkeypatch.setattr(sys, "argv", ["confidence.py", "--media", str(tmp_path)])
    with pytest.raises(SystemExit) as exc:
        bench.main()
    assert "FLEURS clips missing" in str(exc.value.code)
    assert "fleurs-fr-001.txt" in str(exc.value.code) and "fleurs-fr-001.ogg" not in str(exc.value.code)


# --- the French word list -----------------------------------------------------------------------


def test_french_lexicon_is_loaded_once_and_folded() -> None:
    lexicon = french_lexicon()
    assert french_lexicon() is lexicon  # cached
    assert len(lexicon) > 100_000
    assert {"etats", "accreditation", "ecole", "aujourd'hui", "ouais"} <= lexicon  # no accents; spoken words added
    assert "créditation" not in lexicon and "creditation" not in lexicon


@pytest.mark.parametrize(
    "text",
    ["servis.", "l'école,", "Qu'à", "aujourd'hui", "peut-être", "dit-il", "a-t-elle", "t'être", "«Merci»", "100%", "…"],
)
def test_french_words_with_elisions_hyphens_punctuation_digits(text: str) -> None:
    assert is_french_word(text)


@pytest.mark.parametrize("text", ["créditation.", "tingue,", "sortitudes.", "d'illiant", "Limpic", "atlettes"])
def test_fleurs_mishearings_are_not_french_words(text: str) -> None:
    assert not is_french_word(text)


def test_a_confident_non_word_is_flagged_as_not_french() -> None:
    # FLEURS fr 001 / 003: the mishearings Whisper was fairly sure of.
    words = sentence("de", "la", ("créditation.", 0.86), ("Justement", 0.59), "du", ("tingue,", 0.59))
    assert flag_words(words) == [(), (), (NOT_FRENCH,), (), (), (NOT_FRENCH,)]
    # With a low probability too, both reasons.
    assert flag_words(sentence("nos", ("atlettes", 0.44)))[1] == ("low probability 0.44", NOT_FRENCH)


def test_not_french_spares_confident_words_the_vocabulary_and_names() -> None:
    confident = sentence("un", ("smartfoune", NOT_FRENCH_BELOW))
    assert flag_words(confident)[1] == ()  # at the guard: Whisper is sure of it
    assert flag_words(sentence("un", ("smartfoune", NOT_FRENCH_BELOW - 0.01)))[1] == (NOT_FRENCH,)
    # A word of the episode's vocabulary is no mishearing, nor are spoken words the list lacks.
    glossary = sentence("la", ("recyclerie", 0.8), "de", ("Coulmiers", 0.8), "ouais", ("ok", 0.7))
    assert flag_words(glossary, vocabulary=["Coulmiers"]) == [()] * 6
    # A name-like non-word is a name (one reason, not two).
    assert flag_words(sentence("au", ("Limpic", 0.53))) == [(), (NAME_NOT_IN_VOCABULARY,)]


def test_context_flags_neighbours_of_suspects_only_when_asked() -> None:
    words = sentence(("jugement", 0.51), ("en", 0.66), "plus", ("d'illiant", 0.22), ("mais", 0.75), "plutôt")
    assert flag_words(words) == [(), (), (), ("low probability 0.22", NOT_FRENCH), (), ()]
    flags = flag_words(words, context_threshold=0.8)
    # "mais" (0.75) is next to "d'illiant"; "plus" (0.95) is too sure; "en" has no flagged neighbour.
    assert flags == [(), (), (), ("low probability 0.22", NOT_FRENCH), (AMONG_SUSPECTS,), ()]
    # A neighbour that is only a name does not count, and a low-probability word gets no second reason.
    names = sentence("au", "Limpic", ("des", 0.6), "intérêts")
    assert flag_words(names, context_threshold=0.8) == [(), (NAME_NOT_IN_VOCABULARY,), (), ()]
    run = sentence(("des", 0.3), ("les", 0.4))
    assert flag_words(run, context_threshold=0.8) == [("low probability 0.30",), ("low probability 0.40",)]
