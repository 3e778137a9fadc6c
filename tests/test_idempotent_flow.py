"""The whole publish flow run twice against SeaweedFS behind a counting proxy: the second run
uploads nothing, and the secret key appears in no stored object, metadata or log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client

from faultproxy import FaultProxy
from media_fixtures import french_episode
from pipeline_helpers import check_objects, load_json, write_episode, write_series
from s3server import S3Server
from touktouk.orchestration.flow import publish_episode

pytestmark = pytest.mark.slow  # real Whisper, real renders, real S3 server (about 80 s)


@pytest.fixture
def proxy(s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    with FaultProxy(s3_env.endpoint_url) as p:
        monkeypatch.setenv("AWS_ENDPOINT_URL", p.url)
        yield p


def test_rerun_uploads_nothing_and_leaks_no_secret(
    s3_env: S3Server,
    proxy: FaultProxy,
    tmp_path: Path,
    prefect_harness: None,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    footage = french_episode(tmp_path / "episode.mp4")
    s3_env.make_bucket("idempotent")
    series = write_series(
        tmp_path / "touktouk.toml", store="s3://idempotent/shows", platforms=("tiktok", "x"), youtube_master=True
    )
    episode = write_episode(tmp_path / "episode.toml", vocabulary=False, slug="rerun")
    args = (str(footage.path), str(episode), None, str(series))
    client = s3_env.client()

    with caplog.at_level(logging.DEBUG):
        location = publish_episode(*args)
        key = location.removeprefix("s3://idempotent/")
        first = client.get_object(Bucket="idempotent", Key=key)["Body"].read()
        first_writes = len(proxy.writes())
        proxy.reset()
        assert publish_episode(*args) == location  # renders come from the task cache; nothing is sent

    assert first_writes >= 10
    assert proxy.writes() == [], [r.path for r in proxy.writes()]
    assert client.get_object(Bucket="idempotent", Key=key)["Body"].read() == first
    manifest = load_json(first)
    check_objects(manifest, lambda k: client.get_object(Bucket="idempotent", Key=f"shows/{k}")["Body"].read())

    secret = s3_env.secret_key
    stored = [o["Key"] for o in client.list_objects_v2(Bucket="idempotent")["Contents"]]
    assert f"shows/{manifest['source']['key'].rsplit('/master/', 1)[0]}/links.json" in stored
    for name in stored:
        body = client.get_object(Bucket="idempotent", Key=name)["Body"].read()
        head = client.head_object(Bucket="idempotent", Key=name)
        assert secret.encode() not in body, name
        assert secret not in json.dumps(head["Metadata"]), name
    assert manifest["review"].endswith("/index.html") and f"shows/{manifest['review']}" in stored
    with get_client(sync_client=True) as api:
        artifacts = api.read_artifacts()
    assert {a.type for a in artifacts} >= {"markdown", "table"}, "the run's summary and clip table"
    summaries = [str(a.data) for a in artifacts if a.type == "markdown"]
    assert any("## Where the time went" in s and "| transcribe | 1 |" in s for s in summaries), summaries
    for art in artifacts:
        assert secret not in json.dumps(art.data, default=str) + (art.description or ""), art.key
    out, err = capfd.readouterr()
    logs = caplog.text + out + err
    assert "Unchanged" in logs and "0 sent (0 bytes), manifest unchanged" in logs
    assert "YouTube master: inputs unchanged, taken from the task cache (no render)" in logs
    assert "Encoding the YouTube master: 100%" in logs, "the master's encode shows its progress"
    assert secret not in logs

    # The master's file left the store (a lifecycle rule, a hand deletion): the cached render does
    # not stand; the third run renders the master again and sends it, and no clip.
    master_key = f"shows/{manifest['youtube_master']['key']}"
    client.delete_object(Bucket="idempotent", Key=master_key)
    proxy.reset()
    assert publish_episode(*args) == location
    sent = {r.path.split("?", 1)[0].removeprefix("/idempotent/") for r in proxy.writes()}
    assert master_key in sent
    assert not {k for k in sent if k.endswith(".mp4")} - {master_key}, sent
    assert client.head_object(Bucket="idempotent", Key=master_key)["ContentLength"] > 0
