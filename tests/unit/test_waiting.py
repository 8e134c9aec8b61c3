"""utils.waiting: the poll schedule and the timeout, on a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from utils import waiting
from utils.errors import WorkshopError


class FakeClock:
    """Stands in for the ``time`` module: ``sleep`` advances ``monotonic``."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(waiting, "time", fake)
    return fake


def job_done_at(clock: FakeClock, seconds: float) -> Any:
    """A fetch that answers InProgress until ``seconds`` have passed on ``clock``."""
    started = clock.now

    def fetch() -> dict[str, Any]:
        done = clock.now - started >= seconds
        return {"status": "Completed" if done else "InProgress", "at": clock.now - started}

    return fetch


def test_a_local_wait_ends_within_one_poll_of_the_job(clock: FakeClock) -> None:
    fetch = job_done_at(clock, 3.0)
    final = waiting.wait_for(
        fetch,
        status_key="status",
        terminal={"Completed"},
        label="job",
        timeout=60,
        interval=waiting.LOCAL_INTERVAL,
        progress=False,
    )
    assert final["status"] == "Completed"
    assert set(clock.sleeps) == {waiting.LOCAL_INTERVAL}  # no back-off below a second
    assert 3.0 <= final["at"] < 3.0 + waiting.LOCAL_INTERVAL + 1e-9


def test_a_long_wait_backs_off_to_four_intervals(clock: FakeClock) -> None:
    fetch = job_done_at(clock, 3600.0)
    waiting.wait_for(
        fetch,
        status_key="status",
        terminal={"Completed"},
        label="job",
        timeout=7200,
        interval=60.0,
        progress=False,
    )
    assert clock.sleeps[:4] == pytest.approx([60.0, 90.0, 135.0, 202.5])
    assert max(clock.sleeps) == 240.0
    assert len(clock.sleeps) < 3600 / 60  # fewer calls than polling every minute


def test_the_timeout_says_the_resource_keeps_running(clock: FakeClock) -> None:
    fetch = job_done_at(clock, 1000.0)
    with pytest.raises(WorkshopError) as caught:
        waiting.wait_for(
            fetch,
            status_key="status",
            terminal={"Completed"},
            label="Training job",
            timeout=10,
            interval=waiting.LOCAL_INTERVAL,
            progress=False,
        )
    assert "Training job is still InProgress after 10 s (timeout 10 s)" in str(caught.value)
    assert "run this cell again" in str(caught.value)
    assert sum(clock.sleeps) == pytest.approx(10.0)  # the last sleep stops at the timeout


def test_local_and_aws_intervals(monkeypatch: pytest.MonkeyPatch) -> None:
    from utils import clients

    monkeypatch.setattr(clients, "current_backend", lambda: "aws")
    assert waiting.default_interval(60.0) == 60.0
    monkeypatch.setattr(clients, "current_backend", lambda: "local")
    assert waiting.default_interval(60.0) == waiting.LOCAL_INTERVAL
