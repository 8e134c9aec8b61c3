"""Progress displays: a widget in JupyterLab, plain lines under papermill and in CI logs.

A tqdm widget in a notebook that papermill runs leaves ``HBox(children=...)`` in the saved
notebook and nothing readable in the log, and tqdm's terminal bar redraws one line with
carriage returns, which a CI log shows as one long line or not at all. So the display is
chosen by where the code runs (:func:`mode`):

- ``widget``: a kernel started by a Jupyter server (JupyterLab, SageMaker Studio), which
  sets ``JPY_SESSION_NAME`` for the notebook's kernel, with ipywidgets installed.
- ``text``: everywhere else (papermill, scripts, tests, CI): one line when a wait's status
  changes and at least once a minute while it lasts, and a few lines for a counted bar.
- ``WORKSHOP_PROGRESS=widget|text|off`` overrides both. ``CI`` does not matter: papermill's
  kernels in CI print lines anyway, and a browser test's JupyterLab there shows widgets.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
from types import TracebackType
from typing import Any, Literal, Protocol, TextIO

Mode = Literal["widget", "text", "off"]

MODE_ENV = "WORKSHOP_PROGRESS"
"""Environment variable that picks the display: ``widget``, ``text`` or ``off``."""

HEARTBEAT = 60.0
"""Seconds at most between two plain lines of a long wait whose status does not change."""

STEPS = 4
"""Plain lines of a counted bar between its start and its end (at each quarter)."""


def mode(environ: dict[str, str] | None = None) -> Mode:
    """The display this process uses: ``widget``, ``text`` or ``off`` (see the module)."""
    env = os.environ if environ is None else environ
    chosen = env.get(MODE_ENV, "").strip().lower()
    if chosen in ("widget", "text", "off"):
        return chosen  # type: ignore[return-value]
    if env.get("JPY_SESSION_NAME") and _in_kernel() and _widgets_installed():
        return "widget"
    return "text"


def _in_kernel() -> bool:
    """Whether this is an IPython kernel (a notebook), not a terminal or a script."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ipython = shell.get_ipython()
    return ipython is not None and getattr(ipython, "kernel", None) is not None


def _widgets_installed() -> bool:
    return importlib.util.find_spec("ipywidgets") is not None


def elapsed(seconds: float) -> str:
    """``seconds`` as ``m:ss`` or ``h:mm:ss``, the way tqdm shows elapsed time."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _amount(n: float, unit: str, scale: bool) -> str:
    if not scale:
        return f"{n:g} {unit}"
    value = float(n)
    for prefix in ("", "Ki", "Mi", "Gi"):
        if value < 1024 or prefix == "Gi":
            return f"{value:.0f} {unit}" if not prefix else f"{value:.1f} {prefix}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


class Bar(Protocol):
    """What the workshop's long steps call: counts, a status line, a note, and close."""

    def update(self, n: float = 1) -> None: ...
    def status(self, text: str) -> None: ...
    def note(self, text: str) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Bar: ...
    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class _Closing:
    def __enter__(self) -> Bar:
        return self  # type: ignore[return-value]

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()  # type: ignore[attr-defined]


class Silent(_Closing):
    """No display at all (``progress=False`` or ``WORKSHOP_PROGRESS=off``)."""

    def update(self, n: float = 1) -> None:
        """Count nothing."""

    def status(self, text: str) -> None:
        """Show nothing."""

    def note(self, text: str) -> None:
        """Show nothing."""

    def close(self) -> None:
        """Nothing to close."""


class Lines(_Closing):
    """Plain lines for logs: status changes, a heartbeat, quarters of a count, the end.

    Thread-safe: boto3's transfer manager counts bytes from its worker threads.
    """

    def __init__(
        self,
        label: str,
        *,
        total: float | None = None,
        unit: str = "it",
        unit_scale: bool = False,
        stream: TextIO | None = None,
        clock: Any = time.monotonic,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.unit_scale = unit_scale
        self.stream = stream
        self.clock = clock
        self.heartbeat = heartbeat
        self.started = clock()
        self.done: float = 0
        self.lines: list[str] = []
        self._status = ""
        self._note = ""
        self._said = ""
        self._said_at = self.started
        self._next_step = 1
        self._closed = False
        self._held: list[str] = []
        self._lock = threading.Lock()
        if total is not None:
            self._say(self._counted().split(" (")[0])

    def _line(self, text: str) -> str:
        line = f"{text} [{elapsed(self.clock() - self.started)}]"
        return f"{line} {self._note}" if self._note else line

    def _say(self, text: str) -> None:
        line = self._line(text)
        self._said = text
        self.lines.append(line)
        self._said_at = self.clock()
        if threading.current_thread() is not threading.main_thread():
            # boto3 counts bytes from its transfer threads, and printing there stalled an
            # upload in a kernel (seen 2026-12-03): the main thread prints it at its next call.
            self._held.append(line)
            return
        self._print_held()
        print(line, file=self.stream or sys.stdout, flush=True)

    def _print_held(self) -> None:
        for line in self._held:
            print(line, file=self.stream or sys.stdout)
        self._held.clear()

    def update(self, n: float = 1) -> None:
        """Count ``n`` more; say so at each quarter of the total, or once a minute."""
        with self._lock:
            self.done += n
            if self.total:
                reached = int(self.done * STEPS // self.total)
                if reached >= self._next_step and self.done < self.total:
                    self._next_step = reached + 1
                    self._say(self._counted())
                    return
            if self.clock() - self._said_at >= self.heartbeat:
                self._say(self._counted())

    def _counted(self) -> str:
        done = self.done
        if not self.total:
            return f"{self.label}: {_amount(done, self.unit, self.unit_scale)}"
        if self.unit_scale:
            counted = f"{_amount(done, self.unit, True)} of {_amount(self.total, self.unit, True)}"
        else:
            counted = f"{done:g}/{self.total:g} {self.unit}"
        return f"{self.label}: {counted} ({100 * done / self.total:.0f}%)"

    def status(self, text: str) -> None:
        """Show ``text`` as the status; a line when it changes, or once a minute if not."""
        with self._lock:
            if text != self._status or self.clock() - self._said_at >= self.heartbeat:
                self._status = text
                self._say(text)

    def note(self, text: str) -> None:
        """A short note shown after the elapsed time on the next line (a file name, failures)."""
        with self._lock:
            self._note = text
            if threading.current_thread() is threading.main_thread():
                self._print_held()

    def close(self) -> None:
        """Say the end once: the last status, or the count reached, with the time it took."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._print_held()
            if self.total is not None:
                finished = self.done >= self.total
                self._say(self._counted().split(" (")[0] + (", done" if finished else ", stopped"))
            elif self._status and self._said != self._status:
                self._say(self._status)


class Widget(_Closing):
    """tqdm's ipywidgets bar (a progress bar, the status, the elapsed time) in JupyterLab."""

    def __init__(
        self, label: str, *, total: float | None = None, unit: str = "it", unit_scale: bool = False
    ) -> None:
        from tqdm.notebook import tqdm as notebook_tqdm

        self.label = label
        self._lock = threading.Lock()
        kwargs: dict[str, Any] = {"desc": label, "leave": True}
        if total is None:
            # Text left of the bar: tqdm's widget keeps text without a bar on the right.
            kwargs["bar_format"] = "{desc} [{elapsed}]{postfix}<bar/>"
        else:
            kwargs.update(
                total=total,
                unit=unit,
                unit_scale=unit_scale,
                unit_divisor=1024 if unit_scale else 1000,
            )
        self.bar = notebook_tqdm(**kwargs)

    def update(self, n: float = 1) -> None:
        """Count ``n`` more."""
        with self._lock:
            self.bar.update(int(n))

    def status(self, text: str) -> None:
        """Show ``text`` in place of the label (the elapsed time refreshes with it)."""
        with self._lock:
            self.bar.set_description_str(text)

    def note(self, text: str) -> None:
        """Show ``text`` after the counts."""
        with self._lock:
            self.bar.set_postfix_str(text)

    def close(self) -> None:
        """Leave the finished bar in the output."""
        with self._lock:
            self.bar.close()


def bar(
    label: str,
    *,
    total: float | None = None,
    unit: str = "it",
    unit_scale: bool = False,
    enabled: bool = True,
) -> Bar:
    """A progress display for ``label``: counted when ``total`` is given, else a status wait.

    Args:
        label: What is being done, e.g. ``"Customization job"``.
        total: How many ``unit`` make the whole; None for a wait with a status.
        unit: What is counted (``"call"``, ``"B"``).
        unit_scale: Show counts with binary prefixes (bytes).
        enabled: False shows nothing (a function's ``progress=False``).
    """
    chosen = mode() if enabled else "off"
    if chosen == "off":
        return Silent()
    if chosen == "widget":
        return Widget(label, total=total, unit=unit, unit_scale=unit_scale)
    return Lines(label, total=total, unit=unit, unit_scale=unit_scale)
