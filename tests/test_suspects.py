"""Suspect-word flags (`touktouk.review.suspects`) and the alignment of benchmarks/confidence.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from touktouk.review.suspects import (
    DEFAULT_THRESHOLD,
    NAME_NOT_IN_VOCABULARY,
    TOO_LONG,
    TOO_LONG_S,
    TOO_SHORT,
    TOO_SHORT_S,
    flag_words,
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
    assert flag_words(words)[5] == (NAME_NOT_IN_VOCABULARY,)
    flags = flag_words(words, vocabulary=["USOC", "ecole bennet"])
    assert flags == [()] * 7


def test_sentence_start_capitals_are_not_names() -> None:
    words = sentence("Bonjour.", "Nous", "sommes", "là.", "Chaque", "année", "revient!", "«Merci»", "dit-elle.")
    assert flag_words(words) == [()] * 9
    # The same word in the middle of a sentence is one.
    assert flag_words(sentence("Et", "puis", "Chaque", "vient."))[2] == (NAME_NOT_IN_VOCABULARY,)


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
    assert without[3] == ("low probability 0.00", NAME_NOT_IN_VOCABULARY)
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
