"""Polling with a timeout and a progress display: Bedrock has no boto3 waiters."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

from utils import progress as progress_display
from utils.errors import WorkshopError

LOCAL_INTERVAL = 0.2
"""Seconds between polls of the local stand-in."""


def default_interval(aws_seconds: float) -> float:
    """Seconds between polls: ``aws_seconds`` against AWS, a fifth of a second locally.

    The stand-in's jobs take seconds, so a fine poll keeps the wait close to the job's own
    time; :func:`wait_for` never backs off below one second.
    """
    from utils import clients

    return aws_seconds if clients.current_backend() == "aws" else LOCAL_INTERVAL


def wait_for(
    fetch: Callable[[], dict[str, Any]],
    *,
    status_key: str,
    terminal: Collection[str],
    label: str,
    timeout: float,
    interval: float,
    progress: bool = True,
    on_timeout: str = "It is still running; run this cell again to keep waiting.",
) -> dict[str, Any]:
    """Call ``fetch`` until its ``status_key`` is one of ``terminal``; return the last response.

    A progress bar shows the status and the elapsed time. Polling backs off from
    ``interval`` up to four times ``interval`` so long jobs cost few calls; a sub-second
    ``interval`` (a local resource) is kept as it is, so the wait ends within one poll of
    the resource's own time.

    Raises:
        WorkshopError: when ``timeout`` seconds pass first (the resource keeps running).
    """
    started = time.monotonic()
    delay = interval
    longest = interval * 4 if interval >= 1 else interval
    bar = progress_display.bar(label, enabled=progress)
    try:
        while True:
            response = fetch()
            status = str(response.get(status_key))
            bar.status(f"{label}: {status}")
            if status in terminal:
                return response
            elapsed = time.monotonic() - started
            if elapsed >= timeout:
                raise WorkshopError(
                    f"{label} is still {status} after {elapsed:.0f} s (timeout {timeout:.0f} s).",
                    on_timeout,
                )
            time.sleep(min(delay, max(0.0, timeout - elapsed)))
            delay = min(delay * 1.5, longest)
    finally:
        bar.close()
