"""The producer's door in the Prefect UI: a deployment run with `review=true` stores its proposal,
then suspends (releasing the worker) until the producer resumes it with a typed `ReviewInput`
(a form pre-filled with the proposal). Decisions that do not validate suspend it again, with the
reason above the form."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import deployment, flow_run
from pydantic import BaseModel, Field

from touktouk.errors import ConfigError


class ClipDecision(BaseModel):
    id: str = Field(description="The clip's id (its start in the episode), as on the review page")
    publish: bool = Field(True, description="Switch off to leave this clip out")
    title: str = Field("", description="The clip's title (shown on its cover and in the platform texts)")


class WordFixInput(BaseModel):
    wrong: str = Field(description="Misheard words, as the transcript shows them")
    right: str = Field(description="What was said")


class ReviewInput(RunInput):
    clips: list[ClipDecision]
    fixes: list[WordFixInput] = Field(default_factory=list)


def in_deployment() -> bool:
    """Only a deployment's run can be suspended (Prefect refuses it otherwise)."""
    return bool(deployment.id)


MAX_SUSPECTS = 40  # words listed above the form; the review page shows them all


def describe(
    proposal: Mapping[str, Any],
    page_link: str,
    problem: str = "",
    suspects: Sequence[tuple[float, str, Sequence[str]]] = (),
) -> str:
    """The markdown above the form: what to check, the clips, the review page, and the words to
    check first (`suspects`: episode time, word, reasons)."""
    rows = ["| clip | time | score | title | why |", "|---|---|---|---|---|"]
    for c in proposal.get("clips") or []:
        minutes, seconds = divmod(float(c["start"]), 60)
        when = f"{int(minutes)}:{seconds:04.1f}-{float(c['end']) - float(c['start']):.0f} s"
        rows.append(
            f"| {c['id']} | {when} | {float(c.get('score', 0)):.2f} | {c.get('title', '')} | {c.get('reason', '')} |"
        )
    head = f"**Not accepted:** {problem}\n\n" if problem else ""
    words = ""
    if suspects:
        listed = [
            f"| {_timecode(at)} | {word.replace('|', '/')} | {', '.join(reasons)} |"
            for at, word, reasons in suspects[:MAX_SUSPECTS]
        ]
        more = (
            f"\n\n…and {len(suspects) - MAX_SUSPECTS} more on the review page." if len(suspects) > MAX_SUSPECTS else ""
        )
        words = "\n\n#### Words to check\n\n| at | word | why |\n|---|---|---|\n" + "\n".join(listed) + more
    return (
        f"{head}### Review {proposal.get('episode', {}).get('id', '')}\n\n"
        f"Check the words and the clips on the [review page]({page_link}), then: switch off the clips to leave "
        "out, change titles, add word fixes (misheard words → what was said), and resume.\n\n" + "\n".join(rows) + words
    )


def _timecode(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def to_decisions(answer: ReviewInput, proposal: Mapping[str, Any]) -> dict[str, Any]:
    """The form's answer as decisions (`review.decisions.Decisions.to_dict` shape)."""
    proposed = {str(c["id"]): str(c.get("title", "")) for c in proposal.get("clips") or []}
    return {
        "drop": [c.id for c in answer.clips if not c.publish],
        "titles": {c.id: c.title for c in answer.clips if c.title and c.title != proposed.get(c.id)},
        "fixes": [{"wrong": f.wrong, "right": f.right} for f in answer.fixes],
    }


def run_link() -> str:
    """This flow run's page in the Prefect UI (PREFECT_UI_URL, else the API's host)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

    ui = (PREFECT_UI_URL.value() or "").rstrip("/")
    if not ui:
        ui = (PREFECT_API_URL.value() or "").rstrip("/").removesuffix("/api")
    return f"{ui}/runs/flow-run/{flow_run.get_id()}" if ui else ""


def already_answered() -> bool:
    """True on the run after the producer resumed it (Prefect runs the flow again from the top):
    the first form's answer is stored, so nobody needs telling again."""
    from prefect.input.actions import read_flow_run_input

    return read_flow_run_input("suspended-review-response") is not None


def notify(url: str, message: Mapping[str, Any], logger: Any) -> bool:
    """POST `message` as JSON to the series' webhook. A failure is logged, never fatal: the
    proposal is stored and the run waits either way. The URL may hold a token: only its host is
    logged."""
    import json
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or "the webhook"
    request = urllib.request.Request(
        url, data=json.dumps(message, ensure_ascii=False).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            resp.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning("Could not notify %s that a proposal waits (%s); the run waits anyway", host, type(exc).__name__)
        return False
    logger.info("Notified %s: %s waits for review", host, message.get("episode", ""))
    return True


def wait_for_review(
    proposal: Mapping[str, Any],
    page_link: str,
    check: Callable[[dict[str, Any]], None],
    attempts: int = 20,
    suspects: Sequence[tuple[float, str, Sequence[str]]] = (),
) -> dict[str, Any]:
    """Suspend until the producer resumes with decisions that `check` accepts (it raises
    ConfigError with the reason otherwise); returns them. Each refusal suspends again under a new
    key, the reason shown above the form. On resume Prefect runs the flow from the top: an answer
    already given for a key is returned at once, so the same decisions come back."""
    problem = ""
    initial = [ClipDecision(id=str(c["id"]), title=str(c.get("title", ""))) for c in proposal.get("clips") or []]
    for attempt in range(attempts):
        form = ReviewInput.with_initial_data(
            description=describe(proposal, page_link, problem, suspects), clips=initial
        )
        answer = suspend_flow_run(wait_for_input=form, key="review" if attempt == 0 else f"review-again-{attempt}")
        decided = to_decisions(answer, proposal)
        try:
            check(decided)
        except ConfigError as exc:
            problem = str(exc)
            continue
        return decided
    raise ConfigError(f"the review of {proposal.get('episode', {}).get('id', '')} was refused {attempts} times")
