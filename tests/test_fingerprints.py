"""Every input that changes a clip's bytes is in its cache key (`pipeline.fingerprints`), and
nothing that does not: not its score or reason, not a local path."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from touktouk.config import SeriesConfig
from touktouk.pipeline.fingerprints import clip_inputs, cover_inputs, hash_parts, master_inputs
from touktouk.pipeline.job import RenderJob
from touktouk.render.probe import MediaInfo
from touktouk.store.base import StoredObject
from touktouk.types import ClipPlan, Segment, Transcript, Word


def _job(tmp: Path, **series: object) -> RenderJob:
    words = (Word(0.5, 0.9, "Bonjour"), Word(1.0, 1.4, "à"), Word(1.5, 2.0, "tous."))
    transcript = Transcript("fr", 3.0, (Segment(0.5, 2.0, "Bonjour à tous.", words),))
    info = MediaInfo(str(tmp / "footage.mp4"), "mov", 3.0, True, 1920, 1080, 25.0, False, 2, "aac", 0)
    return RenderJob(
        store_url=str(tmp / "store"),
        endpoint_url=None,
        prefix="touktouk/s01/e01-x",
        episode_id="s01e01-x",
        master=StoredObject("k", 10, "a" * 64, "video/mp4"),
        footage_hint=str(tmp / "footage.mp4"),
        info=info,
        transcript=transcript,
        series=SeriesConfig.model_validate(series),
        config_dir=tmp,
    )


PLAN = ClipPlan("c00m00.5s", 0.5, 2.0, "Bonjour à tous.", title="Bonjour")


def key(job: RenderJob, plan: ClipPlan = PLAN) -> str:
    return hash_parts(clip_inputs(plan, job))


def test_every_setting_and_file_that_changes_the_bytes_changes_the_key(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"logo one")
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    (fonts / "Brand.ttf").write_bytes(b"font one")
    brand = {"logo": "logo.png", "fonts_dir": str(fonts)}
    base = key(_job(tmp_path, brand=brand))
    assert key(_job(tmp_path, brand=brand)) == base, "the same inputs make the same key"
    changed = {
        "max_cps": _job(tmp_path, brand=brand, captions={"max_cps": 12}),
        "condense": _job(tmp_path, brand=brand, captions={"condense": False}),
        "emphasis": _job(tmp_path, brand=brand, captions={"emphasis_colour": "#FF0000"}),
        "crf": _job(tmp_path, brand=brand, render={"crf": 30}),
        "platforms": _job(tmp_path, brand=brand, clips={"platforms": ["tiktok"]}),
        "font": _job(tmp_path, brand={**brand, "font": "Liberation Sans"}),
        "keywords": replace(_job(tmp_path, brand=brand), keywords=("Awa Diallo",)),
        "karaoke": replace(_job(tmp_path, brand=brand), karaoke=False),
        "master": replace(_job(tmp_path, brand=brand), master=StoredObject("k", 10, "b" * 64, "video/mp4")),
    }
    keys = {name: key(job) for name, job in changed.items()}
    assert base not in keys.values() and len(set(keys.values())) == len(keys), keys
    retitled = replace(PLAN, title="Autre titre")
    assert key(_job(tmp_path, brand=brand), retitled) == base, "only the cover shows the title"
    assert key(_job(tmp_path, brand=brand), replace(PLAN, end=1.9)) != base

    # The bytes of the brand files, not their names.
    (tmp_path / "logo.png").write_bytes(b"logo two")
    assert key(_job(tmp_path, brand=brand)) != base
    (tmp_path / "logo.png").write_bytes(b"logo one")
    (fonts / "Brand.ttf").write_bytes(b"font two")
    assert key(_job(tmp_path, brand=brand)) != base
    (fonts / "Brand.ttf").write_bytes(b"font one")
    assert key(_job(tmp_path, brand=brand)) == base


def test_what_does_not_change_the_bytes_stays_out_of_the_key(tmp_path: Path) -> None:
    base = key(_job(tmp_path))
    assert key(_job(tmp_path), replace(PLAN, score=0.9, reason="Autre", score_parts={"x": 1.0})) == base
    moved = replace(_job(tmp_path), footage_hint="/elsewhere/footage.mp4")
    moved = replace(moved, info=replace(moved.info, path="/elsewhere/footage.mp4"))
    assert key(moved) == base, "a local path never enters the key"
    assert hash_parts(master_inputs(moved, moved.master)) == hash_parts(master_inputs(_job(tmp_path), moved.master))


def test_the_cover_key_has_the_title_and_the_brand_not_the_encode(tmp_path: Path) -> None:
    def cover(job: RenderJob, plan: ClipPlan = PLAN) -> str:
        return hash_parts(cover_inputs(plan, job))

    base = cover(_job(tmp_path))
    assert cover(_job(tmp_path), replace(PLAN, title="Autre titre")) != base
    untitled = replace(PLAN, title="")
    assert cover(_job(tmp_path), replace(untitled, text="Autre texte")) != cover(_job(tmp_path), untitled)
    assert cover(_job(tmp_path, brand={"primary_colour": "#FF0000"})) != base
    assert cover(_job(tmp_path), replace(PLAN, start=0.6)) != base, "the frame comes from the window"
    assert cover(_job(tmp_path, render={"crf": 30})) == base, "no video setting enters the cover"
    assert cover(_job(tmp_path), replace(PLAN, score=0.9, reason="Autre")) == base
