"""Unit tests for touktouk.manifest: store keys are always safe, the manifest has its contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from touktouk import __version__
from touktouk.config import SLUG, EpisodeConfig, SeriesConfig
from touktouk.publish.manifest import SCHEMA, build_manifest, to_json
from touktouk.store.base import StoredObject, validate_key
from touktouk.store.keys import (
    clip_file_names,
    clip_folder,
    clip_metadata_key,
    content_version,
    episode_prefix,
    history_key,
    is_pointer,
    links_key,
    manifest_key,
    master_key,
    review_key,
    transcript_keys,
    youtube_master_key,
)

SHA_A, SHA_B = "a" * 64, "b" * 64

slugs = st.from_regex(SLUG, fullmatch=True).filter(lambda s: len(s) <= 60)
episodes = st.builds(
    EpisodeConfig,
    season=st.integers(min_value=1, max_value=99),
    number=st.integers(min_value=0, max_value=999),
    slug=slugs,
    title=st.text(min_size=1, max_size=200).filter(lambda t: t.isprintable()),
)
series_configs = st.builds(SeriesConfig, series_slug=slugs)


def all_keys(prefix: str, suffix: str, clip_id: str, width: int, height: int) -> list[str]:
    names = clip_file_names([(width, height)], ["srt", "vtt", "ass"], ["cover", "thumb01"])
    folder = clip_folder(prefix, clip_id, {n: SHA_A for n in names.values()})
    return [
        master_key(prefix, suffix, SHA_A),
        *transcript_keys(prefix, {"json": SHA_A, "srt": SHA_B, "vtt": SHA_A, "en.srt": SHA_B}).values(),
        *(f"{folder}/{name}" for name in names.values()),
        clip_metadata_key(prefix, clip_id, SHA_A),
        review_key(prefix, SHA_A),
        youtube_master_key(prefix, SHA_B),
        history_key(prefix, "2026-12-01T23:11:54+00:00", SHA_A),
        manifest_key(prefix),
    ]


def test_key_layout() -> None:
    series = SeriesConfig()
    episode = EpisodeConfig(season=2, number=7, slug="marie-dupont", title="Marie")
    prefix = episode_prefix(series, episode)
    assert prefix == "touktouk/s02/e07-marie-dupont"
    v = content_version({"footage.mp4": SHA_A})
    assert len(v) == 16 and master_key(prefix, ".MP4", SHA_A) == f"{prefix}/master/{v}/footage.mp4"
    keys = transcript_keys(prefix, {"json": SHA_A, "srt": SHA_B, "vtt": SHA_A})
    tv = content_version({"transcript.json": SHA_A, "transcript.srt": SHA_B, "transcript.vtt": SHA_A})
    assert keys == {fmt: f"{prefix}/transcript/{tv}/transcript.{fmt}" for fmt in ("json", "srt", "vtt")}
    names = clip_file_names([(1080, 1920), (1080, 1080)], ["srt", "vtt", "ass"], ["cover", "thumb01", "thumb02"])
    assert names == {
        "1080x1920": "1080x1920.mp4",
        "1080x1080": "1080x1080.mp4",
        "srt": "captions.srt",
        "vtt": "captions.vtt",
        "ass": "captions.ass",
        "cover": "cover.jpg",
        "thumb01": "thumbs/01.jpg",
        "thumb02": "thumbs/02.jpg",
    }
    shas = {n: SHA_A for n in names.values()}
    assert clip_folder(prefix, "c01m42.3s", shas) == f"{prefix}/clips/c01m42.3s/{content_version(shas)}"
    assert manifest_key(prefix) == f"{prefix}/manifest.json" and is_pointer(manifest_key(prefix))
    assert links_key(prefix) == f"{prefix}/links.json" and is_pointer(links_key(prefix))
    assert not is_pointer(review_key(prefix, SHA_A))
    # History entries sort by time (UTC), then are told apart by their bytes.
    assert (
        history_key(prefix, "2026-12-02T00:11:54+01:00", SHA_B) == f"{prefix}/history/20261201T231154Z-{'b' * 16}.json"
    )


def test_a_folder_name_changes_with_any_file_and_with_names() -> None:
    base = {"1080x1920.mp4": SHA_A, "captions.srt": SHA_B}
    assert content_version(base) == content_version(dict(reversed(base.items())))  # order does not matter
    assert content_version(base) != content_version({**base, "captions.srt": SHA_A})
    assert content_version(base) != content_version({"1080x1080.mp4": SHA_A, "captions.srt": SHA_B})
    assert content_version(base) != content_version({**base, "cover.jpg": SHA_A})


@pytest.mark.parametrize(
    ("suffix", "ext"),
    [
        (".mp4", ".mp4"),
        (".MOV", ".mov"),
        (".m2ts", ".m2ts"),
        ("", ".bin"),
        (".", ".bin"),
        (".M P4;rm", ".bin"),
        (".mp4/../../etc", ".bin"),
        ("../x", ".bin"),
        (".toolong", ".bin"),
        (".mp4 ", ".bin"),
        (".mkv\t", ".bin"),
        (".mp₄", ".bin"),
        (".é", ".bin"),
    ],
)
def test_master_key_keeps_only_safe_extensions(suffix: str, ext: str) -> None:
    key = master_key("touktouk/s01/e01-x", suffix, SHA_A)
    assert key.startswith("touktouk/s01/e01-x/master/") and key.endswith(f"/footage{ext}")
    assert validate_key(key) == key


@given(
    series=series_configs,
    episode=episodes,
    suffix=st.text(max_size=12),
    clip_n=st.integers(min_value=1, max_value=99),
    width=st.integers(min_value=1, max_value=4096),
    height=st.integers(min_value=1, max_value=4096),
)
def test_every_key_is_accepted_by_the_store(
    series: SeriesConfig, episode: EpisodeConfig, suffix: str, clip_n: int, width: int, height: int
) -> None:
    prefix = episode_prefix(series, episode)
    for key in all_keys(prefix, suffix, f"c{clip_n:02d}m00.0s", width, height):
        assert validate_key(key) == key
        assert key.startswith(f"{series.series_slug}/s{episode.season:02d}/")


def test_master_key_keeps_a_trailing_newline_out_of_the_key() -> None:
    # A Linux file may be named "video.mp4\n"; Path(...).suffix is then ".mp4\n".
    key = master_key("touktouk/s01/e01-x", ".mp4\n", SHA_A)
    assert validate_key(key) == key and "\n" not in key
    assert key.endswith("/footage.bin"), "an unsafe suffix is not carried into the key"
    assert master_key("touktouk/s01/e01-x", ".MP4", SHA_A).endswith("/footage.mp4")


@given(series=series_configs, a=episodes, b=episodes)
def test_episode_prefixes_identify_the_episode(series: SeriesConfig, a: EpisodeConfig, b: EpisodeConfig) -> None:
    same = (a.season, a.number, a.slug) == (b.season, b.number, b.slug)
    assert (episode_prefix(series, a) == episode_prefix(series, b)) is same


# --- build_manifest / to_json -------------------------------------------------------------

NOW = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)


def _manifest() -> tuple[dict, SeriesConfig, EpisodeConfig, list[StoredObject]]:
    series = SeriesConfig()
    episode = EpisodeConfig(
        season=1,
        number=1,
        slug="awa-diallo-ressourcerie",
        title="Awa Diallo : réparer les objets, réparer les parcours",
        guest="Awa Diallo",
        organisation="Ressourcerie du Canal",
        cause="réemploi et insertion professionnelle",
        links={"youtube": "https://www.youtube.com/@touktouk"},
    )
    prefix = episode_prefix(series, episode)
    objects = [
        StoredObject(master_key(prefix, ".mp4", "a" * 64), 1234, "a" * 64, "video/mp4"),
        StoredObject(manifest_key(prefix), 56, "b" * 64, "application/json"),
    ]
    data = build_manifest(
        series=series,
        episode=episode,
        source={"file": "rush.mp4", "duration": 300.5},
        transcript={"language": "fr", "words": 812},
        clips=[{"id": "c01", "start": 0.0, "end": 21.0, "title": "Pourquoi une ressourcerie ?"}],
        metadata={"youtube": {"title": "Réparer, c'est résister"}},
        objects=objects,
        now=NOW,
    )
    return data, series, episode, objects


def test_manifest_schema_and_identity() -> None:
    data, series, episode, _ = _manifest()
    assert data["schema"] == SCHEMA == "touktouk.manifest/1"
    assert data["generator"] == f"touktouk {__version__}"
    assert data["generated_at"] == "2024-05-01T12:30:15+00:00"
    ep = data["episode"]
    assert ep["id"] == "s01e01-awa-diallo-ressourcerie"
    assert (ep["series"], ep["series_slug"], ep["language"]) == (series.series, series.series_slug, series.language)
    assert (ep["season"], ep["number"], ep["slug"], ep["title"]) == (1, 1, episode.slug, episode.title)
    assert (ep["guest"], ep["organisation"], ep["cause"]) == (episode.guest, episode.organisation, episode.cause)
    assert ep["links"] == {"youtube": "https://www.youtube.com/@touktouk"}
    assert data["clips"][0]["id"] == "c01"
    assert data["source"]["duration"] == 300.5


def test_manifest_objects() -> None:
    data, _, _, objects = _manifest()
    assert data["objects"] == [
        {"key": o.key, "bytes": o.bytes, "sha256": o.sha256, "content_type": o.content_type} for o in objects
    ]
    for entry in data["objects"]:
        assert set(entry) == {"key", "bytes", "sha256", "content_type"}
        assert validate_key(entry["key"])


def test_manifest_copies_its_inputs() -> None:
    source = {"file": "rush.mp4"}
    data = build_manifest(
        series=SeriesConfig(),
        episode=EpisodeConfig(number=1, slug="x", title="X"),
        source=source,
        transcript={},
        clips=[],
        metadata={},
        objects=[],
        now=NOW,
    )
    source["file"] = "changed.mp4"
    assert data["source"] == {"file": "rush.mp4"}


def test_manifest_defaults_to_an_aware_utc_timestamp() -> None:
    data = build_manifest(
        series=SeriesConfig(),
        episode=EpisodeConfig(number=1, slug="x", title="X"),
        source={},
        transcript={},
        clips=[],
        metadata={},
        objects=[],
    )
    stamp = datetime.fromisoformat(data["generated_at"])
    assert stamp.utcoffset() is not None
    assert stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_to_json_is_utf8_with_accents_kept() -> None:
    data, _, episode, _ = _manifest()
    raw = to_json(data)
    assert isinstance(raw, bytes)
    text = raw.decode("utf-8")
    assert "réparer les objets" in text
    assert "Réparer, c'est résister" in text
    assert "\\u00e9" not in text
    assert "é".encode() in raw
    assert text.endswith("}\n")
    assert json.loads(raw) == data
    assert json.loads(raw)["episode"]["title"] == episode.title
