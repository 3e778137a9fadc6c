"""The producer's decisions in the pipeline: what the episode already decided (its manifest or
proposal), the transcript with the word fixes applied, and the clips of a stored proposal."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from touktouk.publish.commit import Inputs
from touktouk.review.decisions import Decisions, from_episode, from_glossary
from touktouk.review.fixes import apply_fixes
from touktouk.runlog import LoggerLike
from touktouk.store.keys import episode_prefix, manifest_key, proposal_key
from touktouk.store.url import open_store
from touktouk.types import ClipPlan, Transcript


def _read(inputs: Inputs, key: str) -> dict[str, Any] | None:
    store = open_store(inputs.store_url, endpoint_url=inputs.series.endpoint_url or None)
    if not store.exists(key):
        return None
    try:
        data = json.loads(store.get_bytes(key))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def read_proposal(inputs: Inputs) -> dict[str, Any] | None:
    return _read(inputs, proposal_key(episode_prefix(inputs.series, inputs.episode)))


def episode_decisions(inputs: Inputs, given: Mapping[str, Any] | None = None) -> Decisions:
    """Every decision for this run, later ones winning: the series glossary, what the live manifest
    (or, without one, the pending proposal) recorded, the episode file, then `given` (from
    `touktouk approve` or the Prefect UI)."""
    prefix = episode_prefix(inputs.series, inputs.episode)
    recorded = _read(inputs, manifest_key(prefix)) or _read(inputs, proposal_key(prefix)) or {}
    decisions = from_glossary(inputs.series.glossary).merged(Decisions.from_dict(recorded.get("decisions")))
    decisions = decisions.merged(from_episode(inputs.episode))
    return decisions.merged(Decisions.from_dict(given, strict=True)) if given else decisions


def fix_transcript(transcript: Transcript, decisions: Decisions, logger: LoggerLike) -> Transcript:
    """The transcript with the word fixes applied (the raw one stays in the transcript cache)."""
    if not decisions.fixes:
        return transcript
    fixed, counts = apply_fixes(transcript, decisions.fixes, required=decisions.strict_fixes)
    for fix, n in counts.items():
        logger.info("Fix %r → %r: %d occurrence(s)", fix.wrong, fix.right, n)
    return fixed


def proposal_plans(proposal: Mapping[str, Any]) -> list[ClipPlan]:
    """The clips of a stored proposal, as it showed them to the producer."""
    return [
        ClipPlan(
            id=str(c["id"]),
            start=float(c["start"]),
            end=float(c["end"]),
            text=str(c.get("text", "")),
            title=str(c.get("title", "")),
            source=str(c.get("source", "auto")),
            score=float(c.get("score", 0.0)),
            reason=str(c.get("reason", "")),
            score_parts={str(k): float(v) for k, v in (c.get("score_parts") or {}).items()},
        )
        for c in proposal.get("clips") or []
    ]
