"""runner.scorer: one process scores for every kernel, with the same numbers as in process.

Kernels reach it through utils.evaluation.remote, which these tests call as a kernel would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner import scorer
from utils import evaluation, paths
from utils.evaluation import remote

VARIED = [
    ("The cat sat on the mat.", "The cat sat on the mat."),
    ("A big dog ran fast across the field.", "A large dog ran quickly across the field."),
    ("Profits at the firm rose during the quarter.", "The company reported higher profits."),
    ("The stock market closed lower on Friday.", "Water boils at 100 degrees Celsius."),
    ("Running runners ran; the runs were running.", "The runner runs and ran."),
]


@pytest.fixture(scope="module")
def process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[scorer.Scorer]:
    log_file = tmp_path_factory.mktemp("scorer") / "scorer.log"
    started = scorer.Scorer.start(log_file=log_file)
    yield started
    started.stop()


def test_the_process_scores_exactly_as_this_process_does(process: scorer.Scorer) -> None:
    columns = list(evaluation.METRICS)
    there = remote.score_remotely(process.url, VARIED, columns)
    here = evaluation.score_pairs(VARIED, columns)
    assert there == here
    # Real scores: identical texts score 1, unrelated ones near 0, and they differ.
    assert there[0]["rouge1"] == 1.0
    assert there[3]["rougeL"] < 0.2
    assert len({round(row["meteor"], 6) for row in there}) == len(VARIED)


def test_score_sends_pairs_to_the_process_named_in_the_environment(
    process: scorer.Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[int] = []
    real = remote.score_remotely

    def spy(url: str, pairs: list[tuple[str, str]], columns: list[str]) -> list[dict[str, float]]:
        sent.append(len(pairs))
        return real(url, pairs, columns)

    monkeypatch.setattr(remote, "score_remotely", spy)
    monkeypatch.setenv(remote.ENV_VAR, process.url)
    outputs = [o for o, _ in VARIED] + [None]
    frame = evaluation.score(outputs, [r for _, r in VARIED] + ["missing"])
    assert sent == [len(VARIED)]  # the missing output is not sent
    assert frame["rouge1"].iloc[0] == 1.0
    assert frame.iloc[-1].isna().all()


def test_a_process_that_is_gone_means_scoring_here(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    gone = scorer.Scorer.start()
    url = gone.url
    gone.stop()
    monkeypatch.setenv(remote.ENV_VAR, url)
    frame = evaluation.score([VARIED[1][0]], [VARIED[1][1]])
    assert frame["rouge1"].iloc[0] == evaluation.score_pairs([VARIED[1]])[0]["rouge1"]
    assert "scoring in this process instead" in caplog.text
    with pytest.raises(remote.ScorerUnavailable):
        remote.score_remotely(url, VARIED[:1], ["rouge1"])


def test_a_bad_request_is_an_error_not_a_silent_fallback(process: scorer.Scorer) -> None:
    with pytest.raises(RuntimeError, match="KeyError: 'bleu'"):
        remote.score_remotely(process.url, VARIED[:1], ["bleu"])


def test_a_wrong_token_is_refused(process: scorer.Scorer) -> None:
    base = process.url.rsplit("/", 1)[0]
    with pytest.raises(RuntimeError, match="not found"):
        remote.score_remotely(base + "/wrong-token", VARIED[:1], ["rouge1"])


def test_missing_assets_reach_the_kernel_as_the_workshop_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "WORKSHOP_ASSETS_DIR": str(tmp_path / "no-assets")}
    log_file = tmp_path / "scorer.log"
    broken = scorer.Scorer.start(log_file=log_file, env=env)
    try:
        with pytest.raises(remote.ScorerUnavailable) as caught:
            remote.score_remotely(broken.url, VARIED[:1], ["rouge1"])
        # Seen once under load: the connection reset instead; the log says what the child did.
        log = log_file.read_text() if log_file.exists() else "(no log)"
        assert "cannot score" in str(caught.value), f"{caught.value}\nscorer log:\n{log}"
        assert "Offline evaluation assets are missing" in str(caught.value)
    finally:
        broken.stop()


def test_a_token_that_starts_with_a_dash_reaches_the_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # token_urlsafe starts with "-" once in 64: the process once took it for an option.
    monkeypatch.setattr(scorer.secrets, "token_urlsafe", lambda n: "-starts-with-a-dash")
    env = {**os.environ, "WORKSHOP_ASSETS_DIR": str(tmp_path / "no-assets")}
    started = scorer.Scorer.start(env=env)
    try:
        assert started.url.endswith("/-starts-with-a-dash")
        with pytest.raises(remote.ScorerUnavailable, match="cannot score"):
            remote.score_remotely(started.url, VARIED[:1], ["rouge1"])
    finally:
        started.stop()


def test_the_process_exits_with_its_parent(tmp_path: Path) -> None:
    # Without assets the process answers /ready at once (503) instead of after loading
    # fmeval: the parent leaves once its child serves, which is all this test is about.
    script = (
        "import os, sys, urllib.error; sys.path.insert(0, sys.argv[1])\n"
        "from runner import scorer\n"
        "s = scorer.Scorer.start(env={**os.environ, 'WORKSHOP_ASSETS_DIR': sys.argv[2]})\n"
        "print(s.process.pid, flush=True)\n"
        "try:\n"
        "    s.ready()\n"
        "except urllib.error.HTTPError as err:\n"
        "    assert err.code == 503, err\n"
    )
    parent = subprocess.run(
        [sys.executable, "-c", script, str(paths.ROOT), str(tmp_path / "no-assets")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    child = int(parent.stdout.split()[0])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _running(child):
        time.sleep(0.2)
    assert not _running(child), "the scoring process outlived the process that started it"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose; only init reaps it, as the parent exited.
    status = (
        Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}").exists() else "X"
    )
    return status not in ("Z", "X")
