"""Asking the run's scoring process for scores: where it is, and the request itself.

The headless runner and the test suite start one scoring process
(:class:`runner.scorer.Scorer`) and name it in :data:`ENV_VAR`; :func:`utils.evaluation.score`
then sends its pairs there with :func:`score_remotely`, and scores in the kernel when the
process does not answer (:class:`ScorerUnavailable`). This is the kernel's side only: it
imports nothing of the process, which imports :mod:`utils.evaluation` to score.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence

ENV_VAR = "WORKSHOP_SCORER"
"""Environment variable with the scoring process's URL (``http://127.0.0.1:<port>/<token>``)."""

REQUEST_TIMEOUT = 180.0
"""Seconds a kernel waits for an answer: the first request also waits for fmeval's import."""


class ScorerUnavailable(Exception):
    """The scoring process cannot be reached; the caller scores in its own process."""


def score_remotely(
    url: str, pairs: Sequence[tuple[str, str]], columns: Sequence[str]
) -> list[dict[str, float]]:
    """Scores of (output, reference) pairs from the scoring process at ``url``.

    Raises:
        ScorerUnavailable: Nothing answers at ``url`` (the caller falls back).
        RuntimeError: The process answered with an error (a bug worth seeing, not hiding).
    """
    body = json.dumps({"pairs": [list(p) for p in pairs], "columns": list(columns)}).encode()
    request = urllib.request.Request(
        url.rstrip("/") + "/score",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        if exc.code == 503:
            raise ScorerUnavailable(f"The scoring process at {url} cannot score: {detail}") from exc
        raise RuntimeError(f"The scoring process at {url} failed: {detail}") from exc
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
        raise ScorerUnavailable(f"No scoring process answers at {url}: {exc}") from exc
    rows = answer["rows"]
    if len(rows) != len(pairs):
        raise RuntimeError(f"The scoring process returned {len(rows)} rows for {len(pairs)}.")
    return [{name: float(row[name]) for name in columns} for row in rows]
