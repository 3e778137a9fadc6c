"""Per-platform metadata: French templates, limits, hashtags, fitting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touktouk.clips.texts import DEFAULT_TEMPLATES, Template, describe, fit, hashtag, hook_from
from touktouk.platforms import PLATFORMS, Platform

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


def lengths_ok(platform: Platform, out: dict[str, object]) -> None:
    text = out["text"]
    assert isinstance(text, str)
    size = len(text.encode("utf-8")) if platform.text_unit == "bytes" else len(text)
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
    odd = Template(title="{nope!r} {x.y}", text="{missing} et {hook}")
    assert describe(PLATFORMS["youtube"], {"hook": "ok"}, [], odd)["text"] == "et ok"


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
@given(text=st.text(max_size=300), limit=st.integers(0, 120), unit=st.sampled_from(["chars", "bytes"]))
def test_fit_never_exceeds_the_limit(text: str, limit: int, unit: str) -> None:
    out = fit(text, limit, unit)
    size = len(out.encode("utf-8")) if unit == "bytes" else len(out)
    assert size <= limit
    fits = (len(text.encode("utf-8")) if unit == "bytes" else len(text)) <= limit
    if fits:
        assert out == text
    elif out:
        assert out.endswith("…") or size <= 3
