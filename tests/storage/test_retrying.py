"""RetryingStore: a refused write is retried with its bytes until the budget runs out."""

from __future__ import annotations

import pytest

from bulkgen_pipeline.runs.health import check_writable
from bulkgen_pipeline.storage import InvalidKey, LocalObjectStore, ObjectNotFound
from bulkgen_pipeline.storage.retrying import LONGEST_PAUSE_S, RetryingStore


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


class RefusingStore(LocalObjectStore):
    """A real folder store whose first `refusals` writes raise like a read-only disk."""

    def __init__(self, root, refusals: int) -> None:
        super().__init__(root)
        self.refusals = refusals
        self.writes = 0

    def put_bytes(self, key, data, content_type="application/octet-stream"):
        self.writes += 1
        if self.writes <= self.refusals:
            raise PermissionError(13, "Read-only file system")
        super().put_bytes(key, data, content_type)


def retrying(store, budget: float) -> tuple[RetryingStore, Clock]:
    clock = Clock()
    return RetryingStore(store, budget, sleep=clock.sleep, clock=lambda: clock.now), clock


def test_a_write_refused_a_few_times_is_stored_with_the_same_bytes(tmp_path):
    inner = RefusingStore(tmp_path, refusals=3)
    store, clock = retrying(inner, budget=60)
    store.put_bytes("run/images/generation_1.png", b"png bytes")
    assert inner.get_bytes("run/images/generation_1.png") == b"png bytes"
    assert inner.writes == 4
    assert clock.pauses == [0.25, 0.5, 1.0]  # growing pauses between tries


def test_a_write_refused_for_longer_than_the_budget_raises_the_stores_error(tmp_path):
    inner = RefusingStore(tmp_path, refusals=10_000)
    store, clock = retrying(inner, budget=20)
    with pytest.raises(PermissionError):
        store.put_bytes("k", b"x")
    assert clock.now <= 20 and max(clock.pauses) == LONGEST_PAUSE_S
    assert not inner.exists("k")


def test_without_a_budget_nothing_is_retried(tmp_path):
    inner = RefusingStore(tmp_path, refusals=1)
    store, clock = retrying(inner, budget=0)
    with pytest.raises(PermissionError):
        store.put_bytes("k", b"x")
    assert inner.writes == 1 and clock.pauses == []


def test_a_bad_key_and_a_missing_object_are_answers_not_faults(tmp_path):
    store, clock = retrying(LocalObjectStore(tmp_path), budget=60)
    with pytest.raises(InvalidKey):
        store.put_bytes("../escape", b"x")
    with pytest.raises(ObjectNotFound):
        store.get_bytes("missing")
    assert clock.pauses == []


def test_check_writable_fails_on_a_store_that_refuses_writes_and_leaves_nothing(tmp_path):
    check_writable(LocalObjectStore(tmp_path))
    assert LocalObjectStore(tmp_path).list_keys() == []
    with pytest.raises(PermissionError):
        check_writable(RefusingStore(tmp_path, refusals=1))
