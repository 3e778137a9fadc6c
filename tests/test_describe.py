"""Per-platform metadata: French templates, limits, hashtags, fitting."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touktouk.clips.texts import DEFAULT_TEMPLATES, Template, describe, fit, hashtag, hook_from
from touktouk.config import CLIP_PLATFORMS, EpisodeConfig, episode_from_footage, load_episode, load_series
from touktouk.french import with_preposition
from touktouk.pipeline.metadata import _fields as metadata_fields
from touktouk.pipeline.metadata import _template as metadata_template
from touktouk.pipeline.metadata import describe_episode
from touktouk.platforms import PLATFORMS, Platform, x_weighted_length
from touktouk.publish.commit import Inputs

CONFIG = Path(__file__).resolve().parents[1] / "config"

CLIP_TEXT = (
    "Je crois que l'économie sociale et solidaire, c'est d'abord une affaire de gens qui se parlent. "
    "Après, il faut des moyens, évidemment."
)
FIELDS = {
    "guest": "Amélie Durand",
    "organisation": "Coopérative Les Jardins d'Été",
    "role": "directrice",
    "hook": hook_from(CLIP_TEXT),
    "cause": "l'économie sociale et solidaire",
    "series": "Les Voix du Terrain",
    "episode_url": "https://youtu.be/abc123",
}
HASHTAGS = [
    "économie sociale", "ESS", "#coopérative", "solidarité", "emploi local", "Économie sociale",
    "tiers-lieux", "associations", "bénévolat", "circuits courts", "innovation sociale", "territoires",
    "transition écologique", "insertion", "entrepreneuriat", "climat", "quartiers", "jeunesse",
]  # fmt: skip

# A long, hostile episode: multi-byte letters, emoji, braces, tabs and blank lines,
# a word longer than any limit, format-looking text that must stay literal.
HOSTILE = (
    "Épisode spécial — « l'économie qui répare » 🌱🤝\t\n\n\n"
    + "Ça commence à Saint-Étienne : œuvres, fêtes, coopératives, {hook} {0} %s ; "
    + "Ééééé " * 400
    + "https://exemple.fr/"
    + "x" * 6000
)


def size_in(text: str, unit: str) -> int:
    """A text's size as the platform counts it; X's weighted length straight from twitter-text."""
    if unit == "weighted":
        return x_weighted_length(text)
    return len(text.encode("utf-8")) if unit == "bytes" else len(text)


def lengths_ok(platform: Platform, out: dict[str, object]) -> None:
    text = out["text"]
    assert isinstance(text, str)
    size = size_in(text, platform.text_unit)
    assert size <= platform.text_limit, (platform.id, size)
    if platform.title_limit is None:
        assert out["title"] is None
    else:
        assert isinstance(out["title"], str) and len(out["title"]) <= platform.title_limit
    tags = out["hashtags"]
    assert isinstance(tags, list) and len(tags) <= platform.max_hashtags


@pytest.mark.parametrize("pid", list(PLATFORMS))
def test_every_platform_stays_within_its_limits_for_a_hostile_episode(pid: str) -> None:
    platform = PLATFORMS[pid]
    fields = {**FIELDS, "hook": HOSTILE, "cause": HOSTILE, "guest": "Amélie " * 50}
    out = describe(platform, fields, HASHTAGS * 10, DEFAULT_TEMPLATES[pid])
    lengths_ok(platform, out)
    assert out["platform"] == pid
    assert "\n\n\n" not in str(out["text"]) and "\t" not in str(out["text"])


@pytest.mark.parametrize("pid", list(PLATFORMS))
def test_normal_clip_metadata_is_complete_and_french(pid: str) -> None:
    platform = PLATFORMS[pid]
    out = describe(platform, FIELDS, HASHTAGS, DEFAULT_TEMPLATES[pid])
    lengths_ok(platform, out)
    text = str(out["text"])
    assert "Amélie Durand" in text
    tags = out["hashtags"]
    assert isinstance(tags, list) and tags[0] == "#ÉconomieSociale"
    assert len(tags) == min(platform.max_hashtags, len(set(t.casefold() for t in tags)))
    if pid != "x":
        assert "#ÉconomieSociale" in text
    if pid in ("youtube", "youtube_shorts"):
        assert out["title"] == "Amélie Durand (Coopérative Les Jardins d'Été) : " + FIELDS["hook"] or (
            len(str(out["title"])) == 100
        )
    if pid in ("tiktok", "instagram_reels", "youtube_shorts"):
        assert "Épisode complet sur YouTube" in text


def test_hashtag_counts_follow_the_platforms() -> None:
    counts = {}
    for pid, platform in PLATFORMS.items():
        tags = describe(platform, FIELDS, HASHTAGS, DEFAULT_TEMPLATES[pid])["hashtags"]
        assert isinstance(tags, list)
        counts[pid] = len(tags)
    assert counts["instagram_reels"] == 5
    assert counts["x"] == 2
    # 18 words, one duplicate ("Économie sociale"): YouTube keeps 15.
    assert counts["youtube"] == 15


def test_youtube_tags_stay_within_500_characters() -> None:
    many = [f"thème numéro {i} de l'économie sociale" for i in range(100)]
    out = describe(PLATFORMS["youtube"], FIELDS, many, DEFAULT_TEMPLATES["youtube"])
    tags = out["tags"]
    assert isinstance(tags, list) and tags
    total = sum(len(t) + (2 if " " in t else 0) for t in tags) + len(tags) - 1
    assert total <= 500
    assert "tags" not in describe(PLATFORMS["tiktok"], FIELDS, many, DEFAULT_TEMPLATES["tiktok"])


def test_missing_fields_render_empty_without_raising() -> None:
    out = describe(PLATFORMS["youtube"], {"hook": "Une idée simple."}, [], DEFAULT_TEMPLATES["youtube"])
    assert out["title"] == "Une idée simple."
    assert "{" not in str(out["text"]) and "()" not in str(out["text"])
    odd = Template(title="{nope!r} {x.y}", text="{missing} et {hook}.\n{hook!r}")
    # the sentence with an empty field is left out, never printed with a hole ("et ok")
    assert describe(PLATFORMS["youtube"], {"hook": "ok", "title": "Épisode"}, [], odd) == {
        "platform": "youtube",
        "title": "Épisode",  # every sentence of the title left out: the episode's title
        "text": "'ok'",
        "hashtags": [],
        "tags": [],
    }


def test_bytes_limit_counts_utf8_for_youtube_but_characters_elsewhere() -> None:
    accented = "é" * 3000  # 3,000 characters, 6,000 bytes
    template = Template(title="{hook}", text="{hook}")
    yt = describe(PLATFORMS["youtube"], {"hook": accented}, [], template)["text"]
    li = describe(PLATFORMS["linkedin"], {"hook": accented}, [], template)["text"]
    assert isinstance(yt, str) and isinstance(li, str)
    assert len(yt.encode("utf-8")) <= 5000 and len(yt) < 2600
    assert li == accented  # 3,000 characters fit LinkedIn's 3,000


def test_fit_cuts_at_a_word_boundary_with_an_ellipsis() -> None:
    text = "L'économie sociale et solidaire, c'est d'abord une affaire de gens."
    assert fit(text, 100) == text
    assert fit(text, 30) == "L'économie sociale et…"
    assert fit("é" * 10, 10, "bytes") == "é" * 3 + "…"
    assert fit("abc", 0) == ""


def test_hook_is_the_first_sentence() -> None:
    assert hook_from(CLIP_TEXT, 120) == (
        "Je crois que l'économie sociale et solidaire, c'est d'abord une affaire de gens qui se parlent."
    )
    assert (
        hook_from(CLIP_TEXT)
        == "Je crois que l'économie sociale et solidaire, c'est d'abord une affaire de gens qui se…"
    )
    assert hook_from("Pourquoi ? Parce que.") == "Pourquoi ?"
    assert len(hook_from("mot " * 100, 40)) <= 40


def test_hashtag_keeps_accents_and_joins_words() -> None:
    assert hashtag("économie sociale") == "#ÉconomieSociale"
    assert hashtag("#ESS") == "#ESS"
    assert hashtag("tiers-lieux") == "#TiersLieux"
    assert hashtag("l'Île-de-France !") == "#LÎleDeFrance"
    assert hashtag("  ") == ""


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=300), limit=st.integers(0, 120), unit=st.sampled_from(["chars", "bytes", "weighted"]))
def test_fit_never_exceeds_the_limit(text: str, limit: int, unit: str) -> None:
    out = fit(text, limit, unit)
    size = size_in(out, unit)
    assert size <= limit
    fits = size_in(text, unit) <= limit
    if fits:
        assert out == text
    elif out:
        assert out.endswith("…") or size <= 3


# --- sentences with a hole are left out -------------------------------------------------------


def assert_reads_as_french(text: str) -> None:
    """No hole an empty field leaves: a preposition before punctuation or at a line's end ("nous
    parle de."), empty brackets, doubled spaces, punctuation starting or ending a line, space
    before , . ), a sentence starting in lower case ("nous parle…")."""
    for line in text.split("\n"):
        assert line == line.strip() and "  " not in line, repr(line)
        if line:
            assert not re.match(r"[,.;:!?)–-]", line) and not re.search(r"[,;:(–-]$", line), repr(line)
            assert not re.search(r"\s[,.)]", line), repr(line)
            assert line[0].isupper() or line[0] in "#«" or line.startswith("http"), repr(line)
        hole = re.search(r"\b(?:de|du|des|sur|dans|à|au|aux|avec|par|pour|et|ou)\s*(?:[.,;:!?)]|$)", line, re.I)
        assert hole is None, repr(line)
    assert "\n\n\n" not in text and not text.startswith("\n") and not text.endswith("\n")


def series_and(episode: EpisodeConfig) -> Inputs:
    series = load_series(CONFIG / "touktouk.toml")
    return Inputs(Path("Entretien.mp4"), series, episode, "", "./published")


def platform_texts(inputs: Inputs, hook: str) -> dict[str, dict[str, object]]:
    """Every platform's texts as `describe_episode` makes them: a clip with `hook`, and the
    YouTube master (its hook is the episode's title)."""
    tags = list(inputs.episode.hashtags)
    out = {
        pid: describe(PLATFORMS[pid], metadata_fields(inputs, hook), tags, metadata_template(inputs.series, pid))
        for pid in CLIP_PLATFORMS
    }
    out["youtube"] = describe_episode([], inputs, None, logging.getLogger("test"))["youtube"]
    return out


CLIP_HOOK = "Commencez petit, parlez à vos voisins, et ne restez jamais seul."


@pytest.mark.parametrize("pid", ["youtube", *CLIP_PLATFORMS])
def test_without_an_episode_file_no_sentence_has_a_hole(pid: str) -> None:
    """No episode file: no guest, organisation, cause, link or hashtags. Today's defect: the
    YouTube description read "nous parle de." and the Shorts text "sur. ToukTouk."."""
    inputs = series_and(episode_from_footage(Path("demo/Entretien avec Awa.mp4")))
    out = platform_texts(inputs, CLIP_HOOK)[pid]
    text, title = str(out["text"]), out["title"]
    assert_reads_as_french(text)
    for gone in ("nous parle", "partage son expérience", "dans ToukTouk", "()", "Épisode complet sur YouTube :"):
        assert gone not in text
    hook = "Entretien avec Awa" if pid == "youtube" else CLIP_HOOK
    assert text.startswith(hook)
    if title is not None:
        assert title == hook
        assert_reads_as_french(str(title))


def test_the_demo_episode_reads_as_an_editor_would_write_it() -> None:
    inputs = series_and(load_episode(CONFIG / "episodes" / "demo.toml"))
    hook = inputs.episode.picks[0].title
    out = platform_texts(inputs, hook)
    for meta in out.values():
        assert_reads_as_french(str(meta["text"]))
    about = "Awa Diallo (Ressourcerie du Canal) sur le réemploi et l'insertion professionnelle, dans ToukTouk."
    assert out["youtube"]["title"] == "Awa Diallo : réparer les objets, réparer les parcours"  # no "Awa Diallo" twice
    assert out["youtube"]["text"] == (
        "Awa Diallo : réparer les objets, réparer les parcours\n\n"
        "Awa Diallo (Ressourcerie du Canal) nous parle du réemploi et de l'insertion professionnelle.\n\n"
        "Un épisode de ToukTouk, l'émission qui donne la parole à celles et ceux qui font l'économie sociale "
        "et solidaire.\n\n#ESS #ÉconomieSocialeEtSolidaire #Réemploi #Insertion"
    )
    # one colon a sentence: the guest's lead-in takes a dash before a hook that has its own
    assert (
        out["youtube_shorts"]["title"]
        == "Awa Diallo (Ressourcerie du Canal) – Le conseil d'Awa : ne restez jamais seul"
    )
    assert out["youtube_shorts"]["text"] == (
        f"Le conseil d'Awa : ne restez jamais seul\n\n{about}\n"
        "Épisode complet sur YouTube : https://www.youtube.com/@touktouk\n\n"
        "#ESS #ÉconomieSocialeEtSolidaire #Réemploi #Insertion"
    )
    assert f"\n\n{about}\nÉpisode complet sur YouTube 👉 lien en bio\n\n" in str(out["tiktok"]["text"])
    assert f"\n\n{about}\nÉpisode complet sur YouTube (lien en bio)\n\n" in str(out["instagram_reels"]["text"])
    assert (
        "Dans l'émission ToukTouk, Awa Diallo (Ressourcerie du Canal) partage son expérience sur le réemploi "
        "et l'insertion professionnelle.\n\nL'entretien complet est disponible sur YouTube : "
        "https://www.youtube.com/@touktouk"
    ) in str(out["linkedin"]["text"])
    assert out["x"]["text"] == (
        "Awa Diallo (Ressourcerie du Canal) – Le conseil d'Awa : ne restez jamais seul "
        "https://www.youtube.com/@touktouk #ESS #ÉconomieSocialeEtSolidaire"
    )


def test_each_sentence_needs_its_fields() -> None:
    template = Template(
        title="{guest} ({organisation}) : {hook}",
        text="{hook}\n\n{guest} ({organisation}) nous parle de {cause}. Un épisode de {series}.\n"
        "À voir : {episode_url}\n{episode_url} {hashtags}",
    )
    full = {"hook": "Une idée.", "guest": "Awa", "organisation": "ReCa", "cause": "la réparation", "series": "TT"}
    yt = PLATFORMS["youtube"]
    out = describe(yt, full, ["ESS"], template)
    assert out["title"] == "Awa (ReCa) : Une idée."
    assert out["text"] == "Une idée.\n\nAwa (ReCa) nous parle de la réparation. Un épisode de TT.\n#ESS"
    # a field in brackets goes with its brackets; a lead-in goes with what it introduces
    out = describe(yt, {**full, "organisation": "", "episode_url": "https://t.tt/1"}, [], template)
    assert out["title"] == "Awa : Une idée."
    assert out["text"] == (
        "Une idée.\n\nAwa nous parle de la réparation. Un épisode de TT.\nÀ voir : https://t.tt/1\nhttps://t.tt/1"
    )
    out = describe(yt, {**full, "cause": "", "guest": ""}, [], template)
    assert out["title"] == "Une idée."
    assert out["text"] == "Une idée.\n\nUn épisode de TT."


@pytest.mark.parametrize(
    ("prep", "phrase", "reads"),
    [
        ("de", "le réemploi et l'insertion professionnelle", "du réemploi et de l'insertion professionnelle"),
        ("de", "l'économie sociale et solidaire", "de l'économie sociale et solidaire"),
        ("de", "la santé et les soins", "de la santé et des soins"),
        ("de", "les circuits courts", "des circuits courts"),
        ("de", "Awa", "d'Awa"),
        ("à", "le climat ou la biodiversité", "au climat ou à la biodiversité"),
        ("à", "les jeunes", "aux jeunes"),
        ("de", "Les Voix du Terrain", "de Les Voix du Terrain"),  # a name keeps its article
    ],
)
def test_de_and_a_before_a_field_read_as_french(prep: str, phrase: str, reads: str) -> None:
    assert with_preposition(prep, phrase) == reads
    text = describe(PLATFORMS["linkedin"], {"cause": phrase}, [], Template("", f"On parle {prep} {{cause}}."))["text"]
    assert text == f"On parle {reads}."


# --- X counts as X does ----------------------------------------------------------------------

LONG_URL = "https://www.exemple-ressourcerie.fr/episodes/saison-1/awa-diallo?" + "&".join(
    f"utm_{k}=touktouk-episode-1" for k in ("source", "medium", "campaign", "content", "term")
)


def test_x_counts_urls_as_23_and_emoji_as_2() -> None:
    assert x_weighted_length("Réparer 🌱 " + LONG_URL) == len("Réparer ") + 2 + 1 + 23
    assert x_weighted_length("👩‍👩‍👧") == 2  # one emoji of five code points
    assert x_weighted_length("Café…") == 4 + 2  # accents count 1, the ellipsis 2


def test_x_text_is_fitted_to_280_as_x_counts() -> None:
    x = PLATFORMS["x"]
    assert x.text_unit == "weighted" and x.text_limit == 280
    hook = "Ne restez jamais seul 🤝 : " + "parlez à vos voisins 🌱, " * 12
    fields = {"guest": "Awa Diallo", "organisation": "Ressourcerie du Canal", "episode_url": LONG_URL}
    # a long link counts 23: a text longer than 280 characters but within 280 as X counts is kept whole
    said = "Commencez petit, parlez à vos voisins, aux associations du quartier, et ne restez jamais seul 🤝"
    whole = str(describe(x, {**fields, "hook": said}, ["ESS"], DEFAULT_TEMPLATES["x"])["text"])
    assert whole == f"Awa Diallo (Ressourcerie du Canal) : {said} {LONG_URL} #ESS"
    assert x_weighted_length(whole) <= 280 < len(whole)
    # too long even as X counts: the hook is shortened, the link and hashtags kept whole
    out = str(describe(x, {**fields, "hook": hook}, ["ESS"], DEFAULT_TEMPLATES["x"])["text"])
    assert 270 <= x_weighted_length(out) <= 280
    assert out.startswith("Awa Diallo (Ressourcerie du Canal) – Ne restez jamais seul 🤝 : parlez")
    assert out.endswith(f"… {LONG_URL} #ESS")


def test_fit_never_cuts_an_url_or_an_emoji_for_x() -> None:
    text = "Voir " + LONG_URL + " 👩‍👩‍👧 " + "mot " * 100
    for limit in range(1, 60):
        out = fit(text, limit, "weighted")
        assert x_weighted_length(out) <= limit
        assert LONG_URL in out or "https" not in out
        assert "👩‍👩‍👧" in out or "\u200d" not in out
