"""The multicam cut: which camera the episode shows when, from who speaks. Pure decisions.

The rules, in the order they apply (defaults in `CutRules`, set per series in `[multicam]`):

1. **The speaker's camera.** During a turn the cut shows the camera that frames the speaker alone
   (its `shows` is that one person); without one, the tightest camera that shows them (a wide).
2. **Cuts land in pauses.** A cut to the next speaker lands `lead_s` before their first word, and
   never before the previous speaker's last word: inside the pause between them.
3. **The wide when both talk or nobody does.** A stretch between two turns at least
   `wide_after_s` long goes to the wide camera (the one that shows most people), whether the mics
   hear crosstalk or silence there. Without a wide, the current speaker's camera stays.
4. **A cut-away in a long shot.** A shot on one speaker longer than `max_shot_s` cuts away to the
   listener (their own camera, else the wide) for `cutaway_s` to twice that, leaving and coming
   back in pauses of the speaker's sound at least `PAUSE_S` long, and leaving the speaker at least
   `min_shot_s` after it; without such pauses, no cut-away (no cut lands inside a word).
5. **Only a camera that rolls.** Where the chosen camera had not started yet or had stopped, the
   cut takes another that rolls then: one that frames the same person, else the wide, else any.
6. **No shot shorter than `min_shot_s`.** The shortest shot under the minimum is merged into a
   neighbour (into both when they show the same camera, else into the longer one), and again
   until every shot lasts at least the minimum (or the episode is one shot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

from touktouk.types import Turn

PAUSE_S = 0.25  # a pause inside a turn where a cut-away may leave or come back
SNAP_S = 4.0  # a cut forced by a camera that starts or stops moves this far at most, into a pause
SNAP_PAUSE_S = 0.12  # of at least this length


@dataclass(frozen=True)
class CutRules:
    min_shot_s: float = 2.0
    max_shot_s: float = 12.0
    cutaway_s: float = 2.5
    wide_after_s: float = 1.5
    lead_s: float = 0.2


@dataclass(frozen=True)
class Angle:
    """A camera as the cut sees it: its name, who it frames, and when it rolls (timeline seconds)."""

    name: str
    shows: tuple[str, ...]
    start: float = 0.0
    end: float = float("inf")

    def rolls(self, start: float, end: float) -> bool:
        return self.start <= start + 1e-6 and end <= self.end + 1e-6


@dataclass(frozen=True)
class Shot:
    start: float
    end: float
    camera: str
    why: str  # "speaker host", "wide: both talk", "wide: nobody talks", "cut-away to guest", "start"

    @property
    def length(self) -> float:
        return self.end - self.start


def close_up(angles: Sequence[Angle], speaker: str) -> Angle | None:
    """The camera that frames `speaker` most tightly: alone, else with the fewest others."""
    framing = [a for a in angles if speaker in a.shows]
    return min(framing, key=lambda a: len(a.shows), default=None)


def wide(angles: Sequence[Angle]) -> Angle | None:
    """The camera that shows most people (two at least), the first such in the shoot."""
    best = max(angles, key=lambda a: len(a.shows), default=None)
    return best if best is not None and len(best.shows) >= 2 else None


def _between(gap_start: float, gap_end: float, voiced: Sequence[tuple[float, float]]) -> float:
    """Seconds of sound (any mic) inside [gap_start, gap_end]."""
    return sum(max(0.0, min(b, gap_end) - max(a, gap_start)) for a, b in voiced)


def speaker_shots(
    turns: Sequence[Turn],
    duration: float,
    angles: Sequence[Angle],
    voiced: Sequence[tuple[float, float]] = (),
    rules: CutRules = CutRules(),
) -> list[Shot]:
    """Rules 1-3: the shots the turns ask for, covering [0, duration] (before cut-aways and the
    minimum shot length)."""
    if not angles:
        return []
    overview = wide(angles)
    shots: list[Shot] = []
    cam, why, since = (overview or angles[0]).name, "start", 0.0
    prev_end: float | None = None  # the end of the last turn so far

    def cut_to(at: float, to: str, reason: str) -> None:
        nonlocal cam, why, since
        if at > since + 1e-6:
            shots.append(Shot(since, at, cam, why))
            since = at
        cam, why = to, reason

    for turn in sorted(turns, key=lambda t: t.start):
        framing = close_up(angles, turn.speaker)
        if framing is None:  # no camera frames this speaker: the cut stays where it is
            continue
        quiet_from = 0.0 if prev_end is None else prev_end
        if overview is not None and turn.start - quiet_from >= rules.wide_after_s:
            talk = _between(quiet_from, turn.start, voiced)
            why_wide = "wide: both talk" if talk >= rules.wide_after_s / 2 else "wide: nobody talks"
            cut_to(quiet_from, overview.name, why_wide)
        if framing.name != cam or not why.startswith("speaker"):
            cut_to(max(quiet_from, turn.start - rules.lead_s), framing.name, f"speaker {turn.speaker}")
        prev_end = turn.end if prev_end is None else max(prev_end, turn.end)
    if overview is not None and prev_end is not None and duration - prev_end >= rules.wide_after_s:
        cut_to(prev_end, overview.name, "wide: nobody talks")
    shots.append(Shot(since, max(duration, since), cam, why))
    return merge_same(shots)


def silences(
    voiced: Sequence[tuple[float, float]], start: float, end: float, least: float = PAUSE_S
) -> list[tuple[float, float]]:
    """The stretches of [start, end] at least `least` long where no mic hears a voice."""
    inside = sorted((max(a, start), min(b, end)) for a, b in voiced if b > start and a < end)
    out, at = [], start
    for a, b in inside:
        if a - at >= least:
            out.append((at, a))
        at = max(at, b)
    if end - at >= least:
        out.append((at, end))
    return out


def pauses_within(
    turn: Turn, voiced: Sequence[tuple[float, float]], least: float = PAUSE_S
) -> list[tuple[float, float]]:
    """The stretches of silence inside a turn at least `least` long (from the mics' sound)."""
    return silences(voiced, turn.start, turn.end, least)


def _listener(angles: Sequence[Angle], speaker: str, last_other: str | None) -> Angle | None:
    """Who to cut away to: the last other speaker's own camera, else the wide."""
    if last_other:
        cam = close_up(angles, last_other)
        if cam is not None and len(cam.shows) == 1:
            return cam
    return wide(angles)


def add_cutaways(
    shots: Sequence[Shot],
    turns: Sequence[Turn],
    angles: Sequence[Angle],
    voiced: Sequence[tuple[float, float]],
    rules: CutRules = CutRules(),
) -> list[Shot]:
    """Rule 4: a shot on one speaker longer than `max_shot_s` gets cut-aways to the listener,
    each leaving and coming back in a pause of the speaker's sound."""
    out: list[Shot] = []
    ordered = sorted(turns, key=lambda t: t.start)
    for shot in shots:
        if not shot.why.startswith("speaker ") or shot.length <= rules.max_shot_s:
            out.append(shot)
            continue
        speaker = shot.why.removeprefix("speaker ")
        before = [t.speaker for t in ordered if t.end <= shot.start and t.speaker != speaker]
        away = _listener(angles, speaker, before[-1] if before else None)
        pauses = [
            p for t in ordered if t.speaker == speaker and t.end > shot.start and t.start < shot.end
            for p in pauses_within(t, voiced)
        ]  # fmt: skip
        # the pause between two of the speaker's turns inside the shot is a pause too
        pauses += [
            (a.end, b.start) for a, b in pairwise(ordered)
            if a.speaker == b.speaker == speaker and b.start - a.end >= PAUSE_S
            and shot.start < a.end and b.start < shot.end
        ]  # fmt: skip
        mids = sorted((a + b) / 2 for a, b in pauses)
        if away is None or away.name == shot.camera or not mids:
            out.append(shot)
            continue
        at = shot.start
        while shot.end - at > rules.max_shot_s:
            leave = [m for m in mids if at + rules.min_shot_s <= m <= at + rules.max_shot_s]
            leave = leave or [m for m in mids if m > at + rules.max_shot_s][:1]
            # the latest pause to leave in whose return leaves the speaker at least the minimum
            chosen = None
            for go in reversed(leave):
                back = next((m for m in mids if m >= go + rules.cutaway_s), None)
                if back is not None and back <= go + 2 * rules.cutaway_s and shot.end - back >= rules.min_shot_s:
                    chosen = go, back
                    break
            if chosen is None:
                break
            go, back = chosen
            out.append(Shot(at, go, shot.camera, shot.why))
            out.append(Shot(go, back, away.name, f"cut-away to {'/'.join(away.shows) or away.name}"))
            at = back
        out.append(Shot(at, shot.end, shot.camera, shot.why))
    return merge_same(out)


def merge_same(shots: Sequence[Shot]) -> list[Shot]:
    """Neighbouring shots of one camera made one (the first's reason kept, unless a speaker's
    turn follows a wide's silence: then the speaker's)."""
    out: list[Shot] = []
    for s in shots:
        if out and out[-1].camera == s.camera:
            why = s.why if s.why.startswith("speaker") and not out[-1].why.startswith("speaker") else out[-1].why
            out[-1] = replace(out[-1], end=s.end, why=why)
        else:
            out.append(s)
    return out


def _framed(why: str) -> tuple[str, ...]:
    """Who a shot is meant to show, from its reason ("speaker host", "cut-away to guest")."""
    for prefix in ("speaker ", "cut-away to "):
        if why.startswith(prefix):
            return tuple(why.removeprefix(prefix).split("/"))
    return ()


def keep_rolling(
    shots: Sequence[Shot], angles: Sequence[Angle], voiced: Sequence[tuple[float, float]] = ()
) -> list[Shot]:
    """Rule 5: the stretches of a shot where its camera does not roll go to another camera that
    rolls over all of the stretch (framing the same person, else the wide, else any), the cut
    moved into the nearest pause within `SNAP_S` on the side where the camera rolls; with no other
    camera, the shot stays as planned (the conform pads a camera that does not roll with black)."""
    by_name = {a.name: a for a in angles}
    out: list[Shot] = []
    for shot in shots:
        cam = by_name[shot.camera]
        first, last = max(shot.start, cam.start), min(shot.end, cam.end)
        if shot.start < first < last:  # rolls late: cut to it in the first pause after it starts
            quiet = silences(voiced, first, min(last, first + SNAP_S), SNAP_PAUSE_S)
            first = (quiet[0][0] + quiet[0][1]) / 2 if quiet else first
        if first < last < shot.end:  # stops early: cut away in the last pause before it stops
            quiet = silences(voiced, max(first, last - SNAP_S), last, SNAP_PAUSE_S)
            last = (quiet[-1][0] + quiet[-1][1]) / 2 if quiet else last
        inside = (first, last)
        pieces = [(shot.start, min(inside[0], shot.end)), inside, (max(inside[1], shot.start), shot.end)]
        for n, (a, b) in enumerate(pieces):
            if b - a <= 1e-9:
                continue
            if n == 1:
                out.append(Shot(a, b, shot.camera, shot.why))
                continue
            rolling = [x for x in angles if x.rolls(a, b)]
            who = _framed(shot.why)
            best = min(
                rolling,
                key=lambda x: (not any(p in x.shows for p in who), len(x.shows) < 2, len(x.shows)),
                default=None,
            )
            why = f"{shot.why} ({shot.camera} not rolling)"
            out.append(Shot(a, b, best.name, why) if best is not None else Shot(a, b, shot.camera, shot.why))
    return merge_same(out)


def enforce_min_shot(shots: Sequence[Shot], min_shot_s: float, angles: Sequence[Angle] = ()) -> list[Shot]:
    """Rule 6: merge the shortest shot under `min_shot_s` into a neighbour (both when they show
    one camera, else the longer) whose camera rolls over it, until none is left that can be."""
    rolls = {a.name: a for a in angles}

    def covers(camera: str, shot: Shot) -> bool:
        return camera not in rolls or rolls[camera].rolls(shot.start, shot.end)

    out = merge_same(shots)
    while len(out) > 1:
        for i in sorted(range(len(out)), key=lambda k: out[k].length):
            if out[i].length >= min_shot_s:
                return out
            left = out[i - 1] if i > 0 else None
            right = out[i + 1] if i + 1 < len(out) else None
            options = [x for x in (left, right) if x is not None and covers(x.camera, out[i])]
            if not options:
                continue
            if left in options and (right not in options or left.length >= right.length or left.camera == right.camera):
                out[i - 1] = replace(out[i - 1], end=out[i].end)
            else:
                out[i + 1] = replace(out[i + 1], start=out[i].start)
            del out[i]
            out = merge_same(out)
            break
        else:
            return out
    return out


def trim_to_voice(turns: Sequence[Turn], voiced: Sequence[tuple[float, float]]) -> list[Turn]:
    """Each turn from its first voiced moment to its last (a turn's edges hold the hysteresis and
    the room's noise; a cut belongs just before the first word)."""
    out = []
    for t in turns:
        inside = [(max(a, t.start), min(b, t.end)) for a, b in voiced if b > t.start and a < t.end]
        out.append(replace(t, start=inside[0][0], end=inside[-1][1]) if inside else t)
    return out


def plan_cut(
    turns: Sequence[Turn],
    duration: float,
    angles: Sequence[Angle],
    voiced: Sequence[tuple[float, float]] = (),
    rules: CutRules = CutRules(),
) -> list[Shot]:
    """The episode's shots, covering [0, duration]: rules 1-6 of the module docstring."""
    turns = trim_to_voice(turns, voiced) if voiced else list(turns)
    shots = speaker_shots(turns, duration, angles, voiced, rules)
    shots = add_cutaways(shots, turns, angles, voiced, rules)
    shots = keep_rolling(shots, angles, voiced)
    return enforce_min_shot(shots, rules.min_shot_s, angles)


def on_frames(shots: Sequence[Shot], rate: float) -> list[tuple[int, int, str]]:
    """The shots as frame ranges [first, end) on the timeline's frame grid (cuts rounded to the
    nearest frame; a shot left empty by the rounding is dropped)."""
    out: list[tuple[int, int, str]] = []
    for s in shots:
        a, b = round(s.start * rate), round(s.end * rate)
        if b <= a:
            continue
        if out and out[-1][2] == s.camera:
            out[-1] = (out[-1][0], b, s.camera)
        else:
            out.append((a, b, s.camera))
    return out


def camera_share(shots: Sequence[Shot], start: float, end: float) -> dict[str, float]:
    """Seconds each camera is shown inside [start, end]."""
    share: dict[str, float] = {}
    for s in shots:
        o = min(end, s.end) - max(start, s.start)
        if o > 0:
            share[s.camera] = share.get(s.camera, 0.0) + o
    return share


def on_speaker(
    shots: Sequence[Shot], turns: Sequence[Turn], angles: Sequence[Angle], longer_than: float = 4.0
) -> float:
    """The share of the turns longer than `longer_than` during which the camera shown longest
    frames the speaker (1.0 when there is no such turn)."""
    shows = {a.name: a.shows for a in angles}
    long_turns = [t for t in turns if t.end - t.start > longer_than]
    if not long_turns:
        return 1.0
    right = 0
    for t in long_turns:
        share = camera_share(shots, t.start, t.end)
        if share and t.speaker in shows.get(max(share, key=share.__getitem__), ()):
            right += 1
    return right / len(long_turns)
