"""The run's Prefect artifacts: a markdown summary and a table of clips with their scores."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from touktouk.pipeline.clips import clip_platforms
from touktouk.publish.commit import (
    Inputs,
    StoredClip,
)
from touktouk.publish.pointer import review_link
from touktouk.render.probe import MediaInfo
from touktouk.stages import RunTimes, table_lines
from touktouk.store.keys import episode_prefix
from touktouk.store.url import open_store


def run_report(
    inputs: Inputs,
    info: MediaInfo,
    clips: Sequence[StoredClip],
    location: str,
    seconds: float,
    times: RunTimes | None = None,
) -> None:
    """Artifacts shown on the flow run page: a markdown summary (with where the run's time went,
    stage by stage) and a table of clips with scores."""
    ep = inputs.episode
    link = location if "://" in location else Path(location).resolve().as_uri()
    store = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
    page = review_link(store, episode_prefix(inputs.series, inputs.episode))
    lines = [
        f"# {ep.episode_id}: {ep.title}",
        "",
        f"- Footage: `{inputs.footage.name}`, {info.duration:.1f} s",
        f"- Run time: {seconds:.0f} s",
        f"- Clips: {len(clips)} ({sum(c.plan.duration for c in clips):.1f} s in all)",
        f"- Manifest: [{location}]({link})",
        f"- Review page: [open it]({page})" if page else "- Review page: none",
        "",
        "| clip | start | end | duration | source | score | title |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = []
    for c in clips:
        p = c.plan
        title = (p.title or p.text[:60]).replace("|", "/")
        lines.append(
            f"| {p.id} | {p.start:.1f} | {p.end:.1f} | {p.duration:.1f} | {p.source} | {p.score:.2f} | {title} |"
        )
        rows.append(
            {
                "clip": p.id,
                "start": round(p.start, 2),
                "end": round(p.end, 2),
                "duration": round(p.duration, 2),
                "source": p.source,
                "score": round(p.score, 3),
                "platforms": ", ".join(pid for platforms in clip_platforms(c) for pid in platforms),
                "reason": p.reason,
            }
        )
    if times is not None:
        lines += ["", "## Where the time went", "", *table_lines(times, markdown=True)]
    key = re.sub(r"[^a-z0-9-]+", "-", ep.episode_id.lower())
    create_markdown_artifact("\n".join(lines), key=f"{key}-summary", description=f"Published {ep.episode_id}")
    create_table_artifact(rows, key=f"{key}-clips", description=f"Clips of {ep.episode_id} with their scores")
