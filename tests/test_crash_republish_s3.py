"""The re-publish crash test of tests/test_crash_republish_local.py against SeaweedFS, through
the holding proxy: killed during transcription, during a clip render, while a new clip file's
upload is in flight (stored by the server, its answer held), and after the old manifest went to
the history but before the new one is written (that PUT is held the same way). After each kill
the live manifest is unchanged and every object it lists matches its checksum; the completed
re-publish equals a fresh publish of the same inputs under an empty prefix.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crash_helpers import (
    REPUBLISH_PREFIX,
    HoldingProxy,
    Republish,
    check_live,
    without_date,
)
from s3server import S3Server

pytestmark = pytest.mark.slow
BUCKET = "republish-crash"


def test_s3_republish_killed_anywhere_keeps_the_live_manifest_true(
    tmp_path: Path, prefect_api: str, s3_env: S3Server, holding_proxy: HoldingProxy
) -> None:
    proxy = holding_proxy
    s3 = s3_env.client()
    s3.create_bucket(Bucket=BUCKET)
    scenario = Republish(tmp_path, prefect_api, f"s3://{BUCKET}/shows", AWS_ENDPOINT_URL=proxy.url)

    def read(key: str, root: str = "shows") -> bytes | None:
        try:
            body: bytes = s3.get_object(Bucket=BUCKET, Key=f"{root}/{key}")["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        return body

    scenario.publish().wait_ok()
    first = read(f"{REPUBLISH_PREFIX}/manifest.json")
    assert first is not None
    listed = {f"/{BUCKET}/shows/{o['key']}" for o in json.loads(first)["objects"]}
    check_live(read, first)
    scenario.change()
    proxy.reset()

    scenario.kill_while_transcribing_then_rendering(lambda: check_live(read, first))

    # A new clip file reached the server; the answer is held while the publish is killed.
    proxy.hold(lambda path: path.endswith("/1080x1920.mp4") and path not in listed)
    run = scenario.publish()
    run.kill_when(proxy.reached.is_set, "a new clip upload")
    proxy.release()
    check_live(read, first)

    # The old manifest went into the history; the new one's PUT never starts.
    proxy.hold(lambda path: f"/{REPUBLISH_PREFIX}/history/" in path)
    run = scenario.publish()
    run.kill_when(proxy.reached.is_set, "the history copy, right before the manifest")
    proxy.release()
    check_live(read, first)

    scenario.publish().wait_ok()
    final = check_live(read)
    assert len(final["clips"]) == 2
    # No key the first manifest listed was ever written again by the re-publish.
    rewritten = {r.path.split("?", 1)[0] for r in proxy.writes()} & listed
    assert rewritten == set(), rewritten

    scenario.publish_fresh(f"s3://{BUCKET}/fresh")
    again = check_live(lambda k: read(k, "fresh"))
    assert without_date(again) == without_date(final)
    for clip in final["clips"]:
        for key in clip["captions"].values():
            assert read(key) == read(key, "fresh"), key
