"""Unit tests for touktouk.config: defaults, the repo's own files, and error messages."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from touktouk import config
from touktouk.config import (
    CLIP_PLATFORMS,
    SLUG,
    EpisodeConfig,
    Pick,
    SeriesConfig,
    episode_from_footage,
    load_episode,
    load_series,
)
from touktouk.errors import ConfigError

REPO = Path(__file__).parents[1]

EPISODE = """\
season = 2
number = 7
slug = "marie-dupont"
title = "Marie Dupont : l'épicerie solidaire"
"""


def write(tmp_path: Path, text: str, name: str = "episode.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(load: Callable[[Path], object], path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    return message


# --- defaults and the repo's files --------------------------------------------------------


def test_no_file_at_the_default_path_gives_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    series = load_series()
    assert series == SeriesConfig()
    assert series.series_slug == "touktouk"
    assert series.clips.platforms == CLIP_PLATFORMS
    assert series.clips.min_seconds < series.clips.max_seconds


def test_a_file_at_the_default_path_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    write(tmp_path / "config", 'series = "Les Échos du Canal"\nseries_slug = "echos"\n', "touktouk.toml")
    series = load_series()
    assert (series.series, series.series_slug) == ("Les Échos du Canal", "echos")
    assert series.whisper == SeriesConfig().whisper  # unspecified tables keep their defaults


def test_an_explicit_missing_series_file_is_an_error(tmp_path: Path) -> None:
    message = config_error(load_series, tmp_path / "nope.toml")
    assert "not found" in message


def test_repo_series_config_loads() -> None:
    series = load_series(REPO / "config" / "touktouk.toml")
    assert SLUG.fullmatch(series.series_slug)
    assert set(series.clips.platforms) <= set(CLIP_PLATFORMS)
    assert 0 < series.clips.min_seconds < series.clips.max_seconds


def test_the_shipped_series_config_states_the_defaults_and_every_commented_key_is_valid() -> None:
    """config/touktouk.toml says "these are the defaults": it must not drift from the code, and each
    commented-out example key (logo, bumpers...) must load when a producer uncomments it."""
    text = (REPO / "config" / "touktouk.toml").read_text()
    shipped = load_series(REPO / "config" / "touktouk.toml").model_dump()
    defaults = SeriesConfig().model_dump()
    differs = {k for k in defaults if shipped[k] != defaults[k]}
    assert differs <= {"brand"}, differs
    assert {k for k in defaults["brand"] if shipped["brand"][k] != defaults["brand"][k]} == {"fonts_dir"}
    for section in ("whisper", "brand", "clips", "captions", "render"):
        assert f"[{section}]" in text, section
        assert set(defaults[section]) <= set(re.findall(r"^#? ?(\w+) = ", text, re.M)), section
    uncommented = re.sub(r"^# (logo|logo_position|logo_width|logo_margin) = ", r"\1 = ", text, flags=re.M)
    brand = tomllib.loads(uncommented)["brand"]
    assert SeriesConfig.model_validate({"brand": {**brand, "logo": ""}}).brand.logo_width == 0.12


def test_repo_demo_episode_loads() -> None:
    episode = load_episode(REPO / "config" / "episodes" / "demo.toml")
    assert episode.slug == "awa-diallo-ressourcerie"
    assert episode.episode_id == "s01e01-awa-diallo-ressourcerie"
    assert episode.guest == "Awa Diallo"
    assert episode.picks == (Pick(start=50.0, end=68.0, title="Le conseil d'Awa : ne restez jamais seul"),)


def test_episode_loads_with_timecode_and_numeric_picks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        EPISODE
        + '[[picks]]\nstart = "00:01:30"\nend = "01:45,5"\ntitle = "Un"\n'
        + "[[picks]]\nstart = 200\nend = 230.25\n",
    )
    episode = load_episode(path)
    assert episode.episode_id == "s02e07-marie-dupont"
    assert episode.picks == (Pick(start=90, end=105.5, title="Un"), Pick(start=200, end=230.25))


# --- errors: each names the file and the field ---------------------------------------------


def test_missing_episode_file(tmp_path: Path) -> None:
    message = config_error(load_episode, tmp_path / "absent.toml")
    assert "not found" in message


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'title = "never closed\nnumber = 1\n')
    message = config_error(load_episode, path)
    assert "not valid TOML" in message


def test_non_utf8_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(EPISODE.encode("latin-1"))
    message = config_error(load_episode, path)
    assert "UTF-8" in message


def test_bad_slug_names_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, EPISODE.replace('"marie-dupont"', '"Marie Dupont"'))
    message = config_error(load_episode, path)
    assert "'slug'" in message
    assert "lower-case" in message


def test_bad_series_slug_names_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, 'series_slug = "Tout_Touk"\n', "touktouk.toml")
    message = config_error(load_series, path)
    assert "'series_slug'" in message


def test_unknown_field_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, EPISODE + 'titel = "typo"\n')
    message = config_error(load_episode, path)
    assert "'titel'" in message
    assert "not a known field" in message


def test_unknown_field_in_a_series_table_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "[whisper]\nbeam = 3\n", "touktouk.toml")
    message = config_error(load_series, path)
    assert "'whisper.beam'" in message


def test_missing_required_field_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, EPISODE.replace("number = 7\n", ""))
    message = config_error(load_episode, path)
    assert "'number'" in message


def test_pick_ending_before_it_starts(tmp_path: Path) -> None:
    path = write(tmp_path, EPISODE + '[[picks]]\nstart = "00:01:00"\nend = "00:00:30"\n')
    message = config_error(load_episode, path)
    assert "picks.0" in message
    assert "must be after start" in message


def test_pick_of_zero_length(tmp_path: Path) -> None:
    path = write(tmp_path, EPISODE + "[[picks]]\nstart = 10\nend = 10\n")
    assert "picks.0" in config_error(load_episode, path)


@pytest.mark.parametrize("bad", ['"1m30"', '"00:75"', "-5", "1979-05-27", "[1, 2]"])
def test_pick_with_a_garbage_timecode(tmp_path: Path, bad: str) -> None:
    text = EPISODE + f"[[picks]]\nstart = {bad}\nend = 100\n"
    message = config_error(load_episode, write(tmp_path, text))
    assert "picks.0.start" in message


def test_second_pick_is_located(tmp_path: Path) -> None:
    text = EPISODE + "[[picks]]\nstart = 1\nend = 30\n" + '[[picks]]\nstart = 5\nend = "garbage"\n'
    message = config_error(load_episode, write(tmp_path, text))
    assert "picks.1.end" in message
    assert "garbage" in message


def test_unknown_clip_platform(tmp_path: Path) -> None:
    path = write(tmp_path, '[clips]\nplatforms = ["tiktok", "myspace"]\n', "touktouk.toml")
    message = config_error(load_series, path)
    assert "clips.platforms" in message
    assert "myspace" in message


@pytest.mark.parametrize("colour", ["white", "#FFF", "#GGGGGG", "FFD400", "#FFD4000"])
def test_bad_hex_colour(tmp_path: Path, colour: str) -> None:
    path = write(tmp_path, f'[brand]\nprimary_colour = "{colour}"\n', "touktouk.toml")
    message = config_error(load_series, path)
    assert "brand.primary_colour" in message


def test_min_seconds_must_be_below_max_seconds(tmp_path: Path) -> None:
    path = write(tmp_path, "[clips]\nmin_seconds = 60\nmax_seconds = 20\n", "touktouk.toml")
    message = config_error(load_series, path)
    assert "clips" in message
    assert "min_seconds" in message


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    path = write(tmp_path, EPISODE.replace('"marie-dupont"', '"Marie Dupont"') + "x = 0\n")
    message = config_error(load_episode, path)
    assert "'slug'" in message
    assert "'x'" in message


def test_nan_pick_is_rejected(tmp_path: Path) -> None:
    config_error(load_episode, write(tmp_path, EPISODE + "[[picks]]\nstart = 0\nend = nan\n"))


# --- episode_from_footage -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Interview Awa Diallo (final) v2.MP4", "interview-awa-diallo-final-v2"),
        ("--rush__01--.mov", "rush-01"),
        ("!!!.mp4", "episode"),
        ("Épisode réemploi.mp4", "episode-reemploi"),  # accents transliterated to ASCII
    ],
)
def test_episode_from_footage_sanitises_the_name(name: str, slug: str) -> None:
    episode = episode_from_footage(Path("/rushes") / name)
    assert episode.slug == slug
    assert episode.number == 0
    assert episode.title == Path(name).stem


def test_episode_from_footage_truncates_long_names_without_a_trailing_dash() -> None:
    episode = episode_from_footage(Path("a" * 59 + " " + "b" * 300 + ".mp4"))
    assert episode.slug == "a" * 59
    assert len(episode.title) == 200


@given(st.text(alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), max_size=300))
def test_any_file_stem_gives_a_valid_slug(stem: str) -> None:
    episode = episode_from_footage(Path(f"{stem}.mp4"))
    assert SLUG.fullmatch(episode.slug)
    assert len(episode.slug) <= 60
    assert 1 <= len(episode.title) <= 200
    # The result passes the same validation as a hand-written episode file.
    assert EpisodeConfig.model_validate(episode.model_dump()) == episode


def test_non_utf8_file_name_gives_an_episode() -> None:
    # On Linux a Latin-1 name arrives as a str with a lone surrogate (surrogateescape).
    footage = Path(os.fsdecode(b"\xe9pisode 1.mp4"))
    episode = episode_from_footage(footage)
    assert SLUG.fullmatch(episode.slug)


def test_default_config_path_is_relative_to_the_working_directory() -> None:
    assert not config.DEFAULT_CONFIG.is_absolute()
