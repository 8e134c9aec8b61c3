"""utils.progress: which display where, and what the plain lines say, on a fake clock."""

from __future__ import annotations

import io
import threading

import ipywidgets
import pytest

from utils import progress, waiting


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lines(label: str = "Job j", **kw: object) -> tuple[progress.Lines, Clock, io.StringIO]:
    clock, out = Clock(), io.StringIO()
    return progress.Lines(label, stream=out, clock=clock, **kw), clock, out  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("env", "kernel", "widgets", "expected"),
    [
        ({"WORKSHOP_PROGRESS": "off"}, True, True, "off"),
        ({"WORKSHOP_PROGRESS": "Widget"}, False, False, "widget"),  # asked for: trusted
        ({"WORKSHOP_PROGRESS": "text", "JPY_SESSION_NAME": "a.ipynb"}, True, True, "text"),
        ({"CI": "true", "JPY_SESSION_NAME": "a.ipynb"}, True, True, "widget"),  # a browser test
        ({"CI": "true"}, True, True, "text"),  # papermill in CI
        ({"JPY_SESSION_NAME": "a.ipynb"}, True, True, "widget"),  # JupyterLab's kernel
        ({"JPY_SESSION_NAME": "a.ipynb"}, True, False, "text"),  # no ipywidgets to draw
        ({}, True, True, "text"),  # a kernel papermill started: no browser looks at it
        ({"JPY_SESSION_NAME": "a.ipynb"}, False, True, "text"),  # a script
        ({"WORKSHOP_PROGRESS": "bars"}, False, True, "text"),  # unknown value: the default
    ],
)
def test_the_display_follows_where_the_code_runs(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], kernel: bool, widgets: bool, expected: str
) -> None:
    monkeypatch.setattr(progress, "_in_kernel", lambda: kernel)
    monkeypatch.setattr(progress, "_widgets_installed", lambda: widgets)
    assert progress.mode(env) == expected


def test_outside_a_kernel_there_is_no_kernel() -> None:
    assert progress._in_kernel() is False
    assert progress._widgets_installed() is True  # a requirement of the workshop


def test_a_wait_says_each_status_once_with_its_elapsed_time() -> None:
    bar, clock, out = lines()
    for t, status in [(0, "InProgress"), (5, "InProgress"), (42, "InProgress"), (65, "Completed")]:
        clock.now = t
        bar.status(f"Job j: {status}")
    bar.close()
    assert out.getvalue().splitlines() == ["Job j: InProgress [00:00]", "Job j: Completed [01:05]"]


def test_a_long_wait_with_no_change_still_says_it_is_waiting() -> None:
    bar, clock, out = lines()
    for t in range(0, 200, 10):
        clock.now = t
        bar.status("Job j: InProgress")
    assert out.getvalue().splitlines() == [
        "Job j: InProgress [00:00]",
        "Job j: InProgress [01:00]",
        "Job j: InProgress [02:00]",
        "Job j: InProgress [03:00]",
    ]
    clock.now = 3 * 3600 + 7
    bar.status("Job j: Stopped")
    assert out.getvalue().splitlines()[-1] == "Job j: Stopped [3:00:07]"


def test_a_counted_bar_says_its_quarters_and_its_end() -> None:
    bar, clock, out = lines("generating", total=80, unit="call")
    for i in range(80):
        clock.now = i * 0.5
        bar.update(1)
    bar.close()
    assert out.getvalue().splitlines() == [
        "generating: 0/80 call [00:00]",
        "generating: 20/80 call (25%) [00:09]",
        "generating: 40/80 call (50%) [00:19]",
        "generating: 60/80 call (75%) [00:29]",
        "generating: 80/80 call, done [00:39]",
    ]


def test_a_bar_closed_before_its_total_says_it_stopped_and_notes_show() -> None:
    bar, clock, out = lines("Uploading m", total=3 * 1024**2, unit="B", unit_scale=True)
    bar.note("model.safetensors")
    clock.now = 2
    bar.update(1024**2)
    bar.close()
    bar.close()  # once only
    assert out.getvalue().splitlines() == [
        "Uploading m: 0 B of 3.0 MiB [00:00]",
        "Uploading m: 1.0 MiB of 3.0 MiB (33%) [00:02] model.safetensors",
        "Uploading m: 1.0 MiB of 3.0 MiB, stopped [00:02] model.safetensors",
    ]


def test_counts_from_many_threads_are_all_kept() -> None:
    bar, _clock, out = lines("upload", total=8 * 1000, unit="B")
    workers = [
        threading.Thread(target=lambda: [bar.update(1) for _ in range(1000)]) for _ in range(8)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    bar.close()
    assert bar.done == 8000
    said = out.getvalue().splitlines()
    assert len(said) == 5 and said[-1].startswith("upload: 8000/8000 B, done")


def test_the_widget_is_an_ipywidgets_bar_that_shows_status_and_count() -> None:
    shown = progress.Widget("generating", total=4, unit="call")
    shown.update(3)
    shown.note("failed=1")
    box = shown.bar.container
    assert isinstance(box, ipywidgets.HBox)
    left, meter, right = box.children
    assert isinstance(meter, ipywidgets.FloatProgress | ipywidgets.IntProgress)
    assert (meter.value, meter.max) == (3, 4)
    right_text = right.value.replace("\u2007", " ")  # tqdm pads the HTML with figure spaces
    assert "generating" in left.value and "3/4" in right_text and "failed=1" in right_text
    shown.close()

    wait = progress.Widget("Job j")
    wait.status("Job j: Completed")
    wait.close()
    shown_text = wait.bar.container.children[0].value.replace("\u2007", " ")
    assert shown_text.startswith("Job j: Completed [00:00]")


def test_disabled_shows_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with progress.bar("Job j", enabled=False) as bar:
        bar.status("Job j: Completed")
        bar.update(3)
    assert capsys.readouterr() == ("", "")


def test_waiting_prints_plain_lines_where_no_browser_looks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WORKSHOP_PROGRESS", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    answers = iter(["InProgress", "InProgress", "Completed"])
    waiting.wait_for(
        lambda: {"status": next(answers)},
        status_key="status",
        terminal={"Completed"},
        label="Job j",
        timeout=60,
        interval=0.001,
    )
    said = capsys.readouterr()
    assert said.err == ""  # stdout: papermill logs it as information, not as a warning
    assert [line.split(" [")[0] for line in said.out.splitlines()] == [
        "Job j: InProgress",
        "Job j: Completed",
    ]
