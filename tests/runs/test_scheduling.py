"""Which queued jobs go to Dagster's run queue: a merchant's high-priority job first among
their own, nobody else's place changed, at most the per-merchant limit in Dagster's hands."""

from __future__ import annotations

from dataclasses import dataclass

from bulkgen_pipeline.runs.scheduling import jobs_to_hand_over, within_merchant_order


@dataclass(frozen=True)
class Job:
    user_id: str
    run_key: str
    priority: str = "normal"


def keys(jobs) -> list[str]:
    return [job.run_key for job in jobs]


QUEUE = [
    Job("a", "a1"),
    Job("b", "b1"),
    Job("a", "a2"),
    Job("a", "a3", "high"),
    Job("c", "c1"),
    Job("b", "b2", "high"),
]


def test_a_high_priority_job_moves_ahead_of_its_merchant_s_normal_ones_only():
    # a's three jobs keep a's places (1st, 3rd, 4th), now high first; b's likewise; c stays.
    assert keys(within_merchant_order(QUEUE)) == ["a3", "b2", "a1", "a2", "c1", "b1"]


def test_without_a_per_merchant_limit_every_job_is_handed_over():
    assert keys(jobs_to_hand_over(QUEUE, {}, None)) == ["a3", "b2", "a1", "a2", "c1", "b1"]


def test_a_merchant_gets_only_the_room_left_under_the_limit():
    # a has two runs in Dagster already (not among the queued ones: running), limit 3.
    handed = jobs_to_hand_over(QUEUE, {"a": {"a0", "a-1"}}, 3)
    assert keys(handed) == ["a3", "b2", "c1", "b1"]  # a: its high one only; b and c: all


def test_a_job_dagster_already_has_is_asked_for_again_and_takes_no_more_room():
    # a1 is queued in Dagster (its job is still queued here); a's room is 2 - 1 = 1 more.
    handed = jobs_to_hand_over(QUEUE, {"a": {"a1"}}, 2)
    assert keys(handed) == ["a3", "b2", "a1", "c1", "b1"]


def test_a_full_merchant_waits_while_the_others_go():
    handed = jobs_to_hand_over(QUEUE, {"a": {"x", "y", "z"}, "b": {"b1"}}, 3)
    assert keys(handed) == ["b2", "c1", "b1"]
