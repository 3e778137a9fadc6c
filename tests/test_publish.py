"""End to end: real footage → real Whisper → real ffmpeg → local folder and real S3 (SeaweedFS),
through the Prefect flow."""

from __future__ import annotations

import posixpath
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pysubs2
import pytest

from media_fixtures import french_episode, talking_head
from pipeline_helpers import check_objects, load_json, region_diff, wer, write_episode, write_series
from touktouk.captions.check_files import check_file, load_events
from touktouk.captions.check_rules import READING_SPEED, Violation
from touktouk.captions.checker import format_time
from touktouk.config import load_series
from touktouk.orchestration.flow import publish_episode
from touktouk.publish.manifest import SCHEMA
from touktouk.render.clip import render_clip
from touktouk.render.encode import EncodeSettings, OutputSpec
from touktouk.render.loudness import measure_loudness
from touktouk.render.probe import probe, stream_summary
from touktouk.render.stills import grab_frame
from touktouk.vision.faces import detect_faces

pytestmark = pytest.mark.slow

# Measured with the offline base model (int8, beam 5, VAD), text normalised as in
# pipeline_helpers.normalise: 0.355 on the four FLEURS clips published as one episode (2026-11-27;
# 0.276 when each clip is transcribed alone; numbers such as "cent pour cent" vs "100" count as
# errors); 0.610 on the espeak-ng fallback (synthetic voice; 2026-12-02, this test's print). Each
# bound is the measurement plus a stated margin for run-to-run variation (the decoder's temperature
# fallback samples): 0.065 and 0.04.
WER_BOUND = {"shared": 0.42, "project": 0.65}


@pytest.fixture(scope="module")
def french(tmp_path_factory: pytest.TempPathFactory):
    return french_episode(tmp_path_factory.mktemp("footage") / "episode.mp4")


@pytest.fixture(scope="module")
def local_publish(french, tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("publish-local")
    store = tmp / "store"
    series = write_series(
        tmp / "touktouk.toml",
        store=str(store),
        platforms=("tiktok", "instagram_reels", "x"),
        youtube_master=True,
        diarize=True,
    )
    episode = write_episode(
        tmp / "episode.toml",
        vocabulary=False,
        picks='[[picks]]\nstart = "00:00:01"\nend = "00:00:12.5"\ntitle = "Le mot juste"',
    )
    args = (str(french.path), str(episode), None, str(series))
    location = publish_episode(*args, translate="en")
    manifest = load_json(Path(location).read_bytes())
    return {"manifest": manifest, "store": store, "location": Path(location), "tmp": tmp, "args": args}


def test_a_rerun_reads_the_footage_once_and_writes_nothing(local_publish, french):
    from touktouk import hashing

    store = local_publish["store"]
    files = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in store.rglob("*") if p.is_file()}
    hashing._MEMO.clear()  # as in a new `touktouk publish` process
    hashing.reads.clear()
    assert Path(publish_episode(*local_publish["args"], translate="en")) == local_publish["location"]
    # The footage is read once for hashing (the duplicate-slug check, the store, the render
    # cache keys and the publish step share that digest); before, five reads on a local re-run.
    assert hashing.reads[str(french.path.resolve())] == 1, hashing.reads
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in store.rglob("*") if p.is_file()} == files


def test_manifest_lists_every_stored_object_with_matching_sha256(local_publish):
    m, store = local_publish["manifest"], local_publish["store"]
    assert m["schema"] == SCHEMA
    assert m["episode"]["id"] == "s01e07-fleurs-lecture"
    check_objects(m, lambda key: (store / key).read_bytes())
    on_disk = {str(p.relative_to(store)) for p in store.rglob("*") if p.is_file()}
    listed = {o["key"] for o in m["objects"]}
    manifest_rel = str(local_publish["location"].relative_to(store))
    assert on_disk == listed | {manifest_rel, manifest_rel.replace("manifest.json", "links.json")}
    assert all(k.startswith("touktouk/s01/e07-fleurs-lecture/") for k in on_disk)


def test_clips_have_platform_sizes_and_planned_durations(local_publish):
    m, store = local_publish["manifest"], local_publish["store"]
    assert [c["source"] for c in m["clips"]].count("pick") == 1
    assert len(m["clips"]) >= 2, "one pick plus at least one automatic clip"
    for clip in m["clips"]:
        assert clip["text"].strip()
        platforms = {o["platform"] for o in clip["outputs"]}
        assert platforms == {"tiktok", "instagram_reels", "x"}
        for out in clip["outputs"]:
            s = stream_summary(store / out["key"])
            v = next(st for st in s["streams"] if st["codec_type"] == "video")
            a = next(st for st in s["streams"] if st["codec_type"] == "audio")
            assert (v["width"], v["height"]) == (out["width"], out["height"])
            assert (v["codec_name"], v["pix_fmt"], a["codec_name"]) == ("h264", "yuv420p", "aac")
            assert abs(float(s["format"]["duration"]) - (clip["end"] - clip["start"])) < 0.25
        x = next(o for o in clip["outputs"] if o["platform"] == "x")
        assert (x["width"], x["height"]) == (720, 1280)
        for platform, meta in clip["metadata"].items():
            assert platform in platforms
            assert meta["text"]


def test_pick_keeps_the_producer_timecodes(local_publish):
    pick = next(c for c in local_publish["manifest"]["clips"] if c["source"] == "pick")
    assert (pick["start"], pick["end"], pick["title"]) == (1.0, 12.5, "Le mot juste")


def test_auto_clips_are_sentence_bounded_and_in_range(local_publish):
    for clip in local_publish["manifest"]["clips"]:
        if clip["source"] == "auto":
            assert 20 <= clip["duration"] <= 60
            assert clip["text"].rstrip()[-1] in ".!?…"
            assert clip["reason"] and set(clip["score_parts"]) >= {"density", "pace", "topic", "length"}


def test_faststart_puts_moov_before_mdat(local_publish):
    m, store = local_publish["manifest"], local_publish["store"]
    data = (store / m["clips"][0]["outputs"][0]["key"]).read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")


def test_transcript_wer_on_real_french_speech(local_publish, french):
    m, store = local_publish["manifest"], local_publish["store"]
    transcript = load_json((store / m["transcript"]["json"]).read_bytes())
    words = [w["text"] for s in transcript["segments"] for w in s["words"]]
    score = wer(french.reference, " ".join(words))
    print(f"WER on {french.origin} French speech: {score:.3f}")
    assert score < WER_BOUND[french.origin]
    srt = pysubs2.load(str(store / m["transcript"]["srt"]))
    vtt = pysubs2.load(str(store / m["transcript"]["vtt"]))
    assert len(srt) == len(vtt) > 3
    starts = [e.start for e in srt]
    assert starts == sorted(starts)


def test_words_carry_their_speaker_told_apart_by_voice(local_publish, french):
    """No mics: the speakers come from the voices. The FLEURS episode is read by three people (001
    and 007 by the same one, 003 and 009 by two others); the espeak-ng fallback by one voice."""
    m, store = local_publish["manifest"], local_publish["store"]
    words = [w for s in load_json((store / m["transcript"]["json"]).read_bytes())["segments"] for w in s["words"]]
    assert all(w.get("speaker", "").startswith("S") for w in words), {w.get("speaker") for w in words}
    counts = m["transcript"]["speakers"]
    assert sum(v["words"] for v in counts.values()) == len(words) and set(counts) == {w["speaker"] for w in words}
    if french.origin == "project":
        assert set(counts) == {"S1"}, counts
        return

    def majority(start: float, end: float) -> str:
        inside = [w["speaker"] for w in words if start <= (w["start"] + w["end"]) / 2 < end]
        return max(set(inside), key=inside.count)

    clip_001, clip_003, clip_007 = majority(0, 23.4), majority(24.4, 34.6), majority(35.6, 47.2)
    assert clip_001 == clip_007 != clip_003, (clip_001, clip_003, clip_007)


def test_subtitles_are_visibly_burned_in(local_publish):
    m, store, tmp = local_publish["manifest"], local_publish["store"], local_publish["tmp"]
    clip = m["clips"][0]
    out = next(o for o in clip["outputs"] if o["width"] == 1080)
    events = pysubs2.load(str(store / clip["captions"]["srt"]))
    at = (events[1].start + events[1].end) / 2000  # seconds into the clip, a caption is on screen
    info = probe(store / m["source"]["key"])
    bare = tmp / "bare.mp4"
    spec = OutputSpec(bare, 1080, 1920)
    render_clip(
        info,
        clip["start"],
        clip["start"] + at + 1.0,
        [spec],
        subtitles=None,
        encode=EncodeSettings(preset="ultrafast", crf=28),
    )
    w, h, with_subs = grab_frame(store / out["key"], at)
    _, _, without = grab_frame(bare, at)
    bands = [region_diff(with_subs, without, w, h, i / 20, (i + 1) / 20) for i in range(20)]
    strongest = max(range(20), key=lambda i: bands[i])
    assert bands[strongest] > 15, f"no caption visible: band differences {bands}"
    assert max(bands[:4]) < 3, "the top of the frame should be identical"
    assert strongest < 16, "captions must sit above the bottom fifth (platform UI safe area)"


def test_youtube_master_is_1080p_h264_loudness_normalised_with_caption_sidecars(local_publish):
    m, store = local_publish["manifest"], local_publish["store"]
    yt = m["youtube_master"]
    path = store / yt["key"]
    streams = stream_summary(path)["streams"]
    video = next(s for s in streams if s["codec_type"] == "video")
    audio = next(s for s in streams if s["codec_type"] == "audio")
    assert (video["codec_name"], video["width"], video["height"], video["pix_fmt"]) == ("h264", 1920, 1080, "yuv420p")
    assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == ("aac", "48000", 2)
    assert abs(probe(path).duration - m["source"]["duration"]) < 0.2
    assert abs(measure_loudness(path).input_i - (-14.0)) <= 1.0
    assert (store / yt["srt"]).is_file() and (store / yt["vtt"]).is_file()
    assert yt["key"] in {o["key"] for o in m["objects"]}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.targets += [v for k, v in attrs if k in ("href", "src", "poster") and v]


def test_review_page_links_every_output_and_opens_from_the_store_without_a_server(local_publish):
    m, store = local_publish["manifest"], local_publish["store"]
    page = m["review"]
    parser = _Links()
    parser.feed((store / page).read_text(encoding="utf-8"))
    # "#c01": anchors inside the page; "data:,": the empty favicon that spares a request
    files = [t for t in parser.targets if not t.startswith(("#", "data:"))]
    assert files and not [t for t in files if "://" in t or t.startswith("/")]
    resolved = {posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(t))) for t in files}
    assert all((store / key).is_file() for key in resolved), "every link opens a stored file"
    for clip in m["clips"]:
        assert {o["key"] for o in clip["outputs"]} <= resolved
        assert set(clip["thumbnails"]) <= resolved and len(clip["thumbnails"]) == 4
        assert clip["cover"] in resolved
        assert (store / clip["thumbnails"][0]).read_bytes()[:2] == b"\xff\xd8"  # JPEG


def test_published_to_real_s3_server(s3_env, tmp_path: Path, prefect_harness: None):
    footage = talking_head(tmp_path)
    client = s3_env.client()
    s3_env.make_bucket("episodes")
    series = write_series(
        tmp_path / "touktouk.toml",
        store="s3://episodes/season-one",
        language="en" if footage.origin == "shared" else "fr",  # physicsworks is an English lecture
        platforms=("youtube_shorts", "linkedin"),
    )
    episode = write_episode(tmp_path / "episode.toml", slug="physics-works")
    location = publish_episode(str(footage.path), str(episode), None, str(series))
    assert location == "s3://episodes/season-one/touktouk/s01/e07-physics-works/manifest.json"
    key = location.removeprefix("s3://episodes/")
    manifest = load_json(client.get_object(Bucket="episodes", Key=key)["Body"].read())

    def read(k: str) -> bytes:
        return client.get_object(Bucket="episodes", Key=f"season-one/{k}")["Body"].read()

    check_objects(manifest, read)
    head = client.head_object(Bucket="episodes", Key=f"season-one/{manifest['source']['key']}")
    assert head["ContentLength"] == footage.path.stat().st_size
    assert manifest["source"]["audio_channels"] == 6
    assert manifest["clips"], "a 200 s talk yields at least one clip"
    clip_key = manifest["clips"][0]["outputs"][0]["key"]
    assert client.head_object(Bucket="episodes", Key=f"season-one/{clip_key}")["ContentType"] == "video/mp4"
    text = " ".join(c["text"] for c in manifest["clips"]).lower()
    assert len(text.split()) > 30
    if footage.origin != "shared":
        return
    # The reframe keeps the speaker in frame: where the lecture shows a face, the 9:16 clip does too.
    clip = manifest["clips"][0]
    vertical = next(o for o in clip["outputs"] if o["height"] > o["width"])
    published = tmp_path / "vertical.mp4"
    published.write_bytes(read(vertical["key"]))
    source = detect_faces(footage.path, clip["start"], clip["end"])
    framed = detect_faces(published, 0.0, clip["duration"])
    in_source = sum(1 for s in source if s.speaker is not None)
    in_clip = sum(1 for s in framed if s.speaker is not None)
    assert in_source >= 5, "the chosen clip shows the lecturer"
    assert in_clip >= 0.8 * in_source, f"face in {in_clip} clip frames vs {in_source} source frames"


def test_prefect_recorded_every_step_of_the_flow_run(local_publish):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        runs = [r for r in client.read_flow_runs() if r.name and r.state and r.state.is_completed()]
        assert runs, "the publish-episode flow run is recorded as completed"
        tasks = client.read_task_runs()
    names = {t.name.rsplit("-", 1)[0] for t in tasks if t.state and t.state.is_completed()}
    assert {
        "probe footage",
        "extract audio",
        "transcribe",
        "write transcript",
        "choose clips",
        "render clip",
        "describe",
        "publish",
    } <= names


def test_translate_publishes_english_captions_of_the_episode(local_publish):
    m, store = local_publish["manifest"], local_publish["store"]
    assert {"en.srt", "en.vtt"} <= set(m["transcript"])
    assert {m["transcript"]["en.srt"], m["transcript"]["en.vtt"]} <= {o["key"] for o in m["objects"]}
    events = pysubs2.load(str(store / m["transcript"]["en.srt"]))
    words = set(" ".join(e.plaintext for e in events).lower().split())
    assert len(words & {"the", "and", "of", "to", "we", "is", "with", "that", "in"}) >= 3, sorted(words)[:40]


def _published_caption_violations(local_publish, fast_speech: str | None = None) -> dict[str, list[Violation]]:
    """Violations per published caption file, under the series' caption settings (max_cps,
    fast_speech: README, Captions) unless `fast_speech` is given."""
    m, store = local_publish["manifest"], local_publish["store"]
    settings = load_series(local_publish["tmp"] / "touktouk.toml").captions
    files = [(m["transcript"][fmt], None) for fmt in ("srt", "vtt")]
    for clip in m["clips"]:
        # Clip captions are laid out for the 9:16 frame: check SRT/VTT against the vertical rules
        # too (the ASS says 1080x1920 itself).
        files += [(clip["captions"][fmt], "vertical") for fmt in ("srt", "vtt", "ass")]
    assert len(files) == 2 + 3 * len(m["clips"])
    found = {}
    for key, style in files:
        path = store / key
        assert load_events(path)[0], f"{key} has no captions"
        found[key] = check_file(
            path, style=style, max_cps=settings.max_cps, fast_speech=fast_speech or settings.fast_speech
        )
    for key, violations in found.items():
        print(f"{key}: {len(violations)} violations")
        for v in violations:
            print(f"  {format_time(v.time)} {v.rule}: {v.message}")
    return found


def test_every_published_caption_file_passes_the_checker(local_publish):
    """Issue 4 item 5: zero rule violations in every caption file the pipeline publishes (the
    transcript's SRT/VTT, each clip's SRT/VTT/ASS), reading speed aside: see the test below."""
    found = _published_caption_violations(local_publish)
    other = {k: [v for v in vs if v.rule != READING_SPEED] for k, vs in found.items()}
    assert {k: vs for k, vs in other.items() if vs} == {}


def test_every_published_caption_file_keeps_reading_speed(local_publish):
    """FLEURS is read aloud at 18-29 characters a second. Under the default fast_speech =
    "verbatim" an event may exceed 17 cps only when it is already shown until the next one (or
    for 7 s) and has nothing left to condense; the strict policy reports those events."""
    found = _published_caption_violations(local_publish)
    assert {k: vs for k, vs in found.items() if vs} == {}
    strict = _published_caption_violations(local_publish, fast_speech="strict")
    assert {v.rule for vs in strict.values() for v in vs} == {READING_SPEED}


def test_adding_a_pick_renames_no_clip_and_renders_only_what_changed(local_publish, caplog):
    """Last in this module: it publishes a new version of the episode into the module's store."""
    import logging

    before = local_publish["manifest"]
    store = local_publish["store"]
    episode = Path(local_publish["args"][1])
    episode.write_text(
        episode.read_text(encoding="utf-8") + '\n[[picks]]\nstart = "00:00:50"\nend = "00:01:02"\ntitle = "Encore"\n',
        encoding="utf-8",
    )
    with caplog.at_level(logging.INFO):
        location = Path(publish_episode(*local_publish["args"], translate="en"))
    after = load_json(location.read_bytes())
    old = {(c["start"], c["end"]): c for c in before["clips"]}
    new = {(c["start"], c["end"]): c for c in after["clips"]}
    kept = old.keys() & new.keys()
    assert (1.0, 12.5) in kept, "the first pick is still chosen"
    for window in kept:
        assert new[window]["id"] == old[window]["id"], "no clip is renamed"
        assert new[window]["outputs"] == old[window]["outputs"], "nor are its files"
        assert f"Clip {old[window]['id']}: render inputs unchanged, taken from the task cache" in caplog.text
    (added,) = [c for c in after["clips"] if c["title"] == "Encore"]
    assert added["id"] == "c00m50.0s" and f"Rendered clip {added['id']}" in caplog.text
    # The previous manifest is kept in the history, and every object it lists is still there.
    history = [p.read_bytes() for p in (location.parent / "history").iterdir()]
    assert [load_json(h)["generated_at"] for h in history] == [before["generated_at"]]
    check_objects(before, lambda key: (store / key).read_bytes())
