"""The multicam cut's rules (`shoot.cuts`): pure decisions on turns, tested without media."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touktouk.shoot.cuts import (
    Angle,
    CutRules,
    Shot,
    close_up,
    enforce_min_shot,
    on_frames,
    on_speaker,
    plan_cut,
    wide,
)
from touktouk.types import Turn

HOST, GUEST, WIDE = Angle("host-cam", ("host",)), Angle("guest-cam", ("guest",)), Angle("wide", ("host", "guest"))
THREE = (HOST, GUEST, WIDE)


def test_each_speaker_gets_the_camera_that_frames_them_alone():
    assert close_up(THREE, "host") == HOST
    assert close_up(THREE, "guest") == GUEST
    assert close_up((HOST, WIDE), "guest") == WIDE  # no guest camera: the wide shows them
    assert close_up((HOST,), "guest") is None
    assert wide(THREE) == WIDE and wide((HOST, GUEST)) is None


def test_cuts_follow_the_turns_and_land_in_the_pause_before_the_next_speaker():
    turns = [Turn(0.5, 6.0, "host"), Turn(6.6, 14.0, "guest"), Turn(14.5, 20.0, "host")]
    shots = plan_cut(turns, 21.0, THREE)
    assert [(s.camera, s.why) for s in shots] == [
        ("host-cam", "speaker host"),
        ("guest-cam", "speaker guest"),
        ("host-cam", "speaker host"),
    ]
    assert shots[0].start == 0.0 and shots[-1].end == 21.0
    # lead_s (0.2 s) before the next speaker's first word, after the last one's last word
    assert shots[1].start == pytest.approx(6.4) and 6.0 <= shots[1].start < 6.6
    assert shots[2].start == pytest.approx(14.3)


def test_a_cut_never_lands_before_the_previous_speaker_stops():
    # a pause of 0.1 s: shorter than the lead, so the cut waits for the host's last word
    shots = plan_cut([Turn(0.0, 5.0, "host"), Turn(5.1, 10.0, "guest")], 10.0, THREE)
    assert shots[1].start == 5.0


def test_a_short_interjection_makes_no_cut_shorter_than_the_minimum():
    turns = [Turn(0.0, 8.0, "host"), Turn(8.3, 9.0, "guest"), Turn(9.3, 16.0, "host")]
    shots = plan_cut(turns, 16.0, THREE)
    assert [s.camera for s in shots] == ["host-cam"]
    longer = plan_cut(turns, 16.0, THREE, rules=CutRules(min_shot_s=0.5))
    assert [s.camera for s in longer] == ["host-cam", "guest-cam", "host-cam"]


def test_a_long_silence_or_crosstalk_goes_to_the_wide():
    turns = [Turn(0.0, 6.0, "host"), Turn(9.0, 15.0, "guest"), Turn(18.0, 24.0, "host")]
    voiced = [(0.0, 6.0), (9.0, 15.0), (15.2, 17.8), (18.0, 24.0)]  # both talk between 15 and 18
    shots = plan_cut(turns, 24.0, THREE, voiced)
    assert [(s.camera, s.why) for s in shots] == [
        ("host-cam", "speaker host"),
        ("wide", "wide: nobody talks"),
        ("guest-cam", "speaker guest"),
        ("wide", "wide: both talk"),
        ("host-cam", "speaker host"),
    ]
    assert shots[1].start == 6.0 and shots[1].end == pytest.approx(8.8)


def test_without_a_wide_the_current_speaker_stays_through_silence_and_crosstalk():
    turns = [Turn(0.0, 6.0, "host"), Turn(9.0, 15.0, "guest")]
    shots = plan_cut(turns, 20.0, (HOST, GUEST), [(6.5, 8.5)])
    assert [s.camera for s in shots] == ["host-cam", "guest-cam"]
    assert shots[1].start == pytest.approx(8.8) and shots[1].end == 20.0


def test_a_long_answer_cuts_away_to_the_listener_in_its_pauses():
    turns = [Turn(0.0, 4.0, "host"), Turn(4.5, 40.0, "guest")]
    # the guest's sound: phrases of 2.7 s with 0.3 s pauses
    voiced = [(0.0, 4.0)] + [(4.5 + 3 * k, 4.5 + 3 * k + 2.7) for k in range(12)]
    pauses = [(a + 2.7, a + 3.0) for a, _ in voiced[1:]]
    shots = plan_cut(turns, 40.0, THREE, voiced)
    on_guest = [s for s in shots if s.camera == "guest-cam"]
    away = [s for s in shots if s.why.startswith("cut-away")]
    assert away and all(s.camera == "host-cam" and s.why == "cut-away to host" for s in away)
    assert all(s.length <= CutRules().max_shot_s for s in on_guest), shots
    for s in away:  # leave and come back in a pause of the guest's sound
        assert any(a <= s.start <= b for a, b in pauses), (s, pauses)
        assert any(a <= s.end <= b for a, b in pauses), (s, pauses)
        assert s.length >= CutRules().cutaway_s


def test_no_cut_away_where_the_speaker_never_pauses():
    turns = [Turn(0.0, 4.0, "host"), Turn(4.5, 40.0, "guest")]
    shots = plan_cut(turns, 40.0, THREE, [(0.0, 4.0), (4.5, 40.0)])
    assert [s.camera for s in shots] == ["host-cam", "guest-cam"]


def test_a_speaker_without_their_own_camera_is_shown_on_the_wide():
    turns = [Turn(0.0, 6.0, "host"), Turn(6.5, 12.0, "guest")]
    shots = plan_cut(turns, 12.0, (HOST, WIDE))
    assert [s.camera for s in shots] == ["host-cam", "wide"]
    assert on_speaker(shots, turns, (HOST, WIDE)) == 1.0


def test_the_minimum_merges_into_the_neighbours_and_keeps_the_cover():
    shots = [Shot(0, 5, "a", "x"), Shot(5, 5.5, "b", "x"), Shot(5.5, 9, "a", "x"), Shot(9, 10, "c", "x")]
    out = enforce_min_shot(shots, 2.0)
    assert [(s.start, s.end, s.camera) for s in out] == [(0, 10, "a")]


def test_cuts_snap_to_the_frame_grid():
    shots = [Shot(0.0, 6.41, "a", ""), Shot(6.41, 12.0, "b", "")]
    assert on_frames(shots, 25) == [(0, 160, "a"), (160, 300, "b")]


def test_on_speaker_counts_the_long_turns_shown_on_a_camera_that_frames_their_speaker():
    turns = [Turn(0.0, 6.0, "host"), Turn(6.5, 12.0, "guest"), Turn(12.5, 14.0, "host")]
    right = [Shot(0, 6.3, "host-cam", ""), Shot(6.3, 14, "guest-cam", "")]
    wrong = [Shot(0, 14, "host-cam", "")]
    assert on_speaker(right, turns, THREE) == 1.0
    assert on_speaker(wrong, turns, THREE) == 0.5  # the 1.5 s turn is not counted


@st.composite
def conversations(draw):
    n = draw(st.integers(1, 25))
    at, turns = 0.0, []
    for _ in range(n):
        at += draw(st.floats(0.0, 4.0))
        length = draw(st.floats(0.2, 30.0))
        turns.append(Turn(at, at + length, draw(st.sampled_from(["host", "guest", "other"]))))
        at += length
    return turns, at + draw(st.floats(0.0, 5.0))


@settings(max_examples=200, deadline=None)
@given(conversations(), st.sampled_from([THREE, (HOST, GUEST), (HOST, WIDE), (WIDE,)]))
def test_every_cut_covers_the_episode_with_shots_at_least_the_minimum(conversation, angles):
    turns, duration = conversation
    voiced = [(t.start, t.end) for t in turns]
    shots = plan_cut(turns, duration, angles, voiced)
    assert shots[0].start == 0.0 and abs(shots[-1].end - duration) < 1e-9
    assert all(a.end == b.start and a.camera != b.camera for a, b in pairwise(shots))
    assert all(s.camera in {a.name for a in angles} for s in shots)
    if len(shots) > 1:
        assert all(s.length >= CutRules().min_shot_s - 1e-9 for s in shots), shots


def test_a_camera_is_never_shown_before_it_starts_or_after_it_stops_and_the_forced_cut_finds_a_pause():
    late_wide = Angle("wide", ("host", "guest"), start=3.7, end=30.0)
    turns = [Turn(5.0, 12.0, "host"), Turn(12.5, 40.0, "guest")]
    voiced = [(5.0, 12.0), (12.5, 28.0), (28.4, 40.0)]  # the guest pauses at 28.0-28.4
    shots = plan_cut(turns, 40.0, (HOST, late_wide), voiced)
    # the episode opens on the host's camera (the wide is not rolling yet), the guest is on the
    # wide, and when the wide stops the cut leaves it in the guest's pause, not mid-word at 30 s
    assert [s.camera for s in shots] == ["host-cam", "wide", "host-cam"]
    assert shots[1].start == pytest.approx(12.3)
    assert shots[1].end == pytest.approx(28.2)
    assert shots[2].why == "speaker guest (wide not rolling)"
    for s in shots:
        cam = late_wide if s.camera == "wide" else HOST
        assert cam.rolls(s.start, s.end)
