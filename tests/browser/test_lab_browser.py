"""``make lab`` in headless Chromium: setup and the fine-tuning lesson as a learner sees them.

The test starts ``make lab`` (the stand-in and JupyterLab) in a process group of its own and
opens the printed URL in Debian's Chromium, driven by Playwright (no downloaded browser
build). From JupyterLab's file browser it opens ``00_setup.ipynb``, then
``fine-tuning/01_fine_tune_and_evaluate.ipynb``, runs each with Run > Run All Cells, waits
until every code cell has run, and checks the page and what JupyterLab saved: no error
output, a progress widget, the loss and score plots as PNG images, the table of base and
fine-tuned scores.

JupyterLab autosaves notebooks with their outputs, so it serves a copy of the lessons
(``WORKSHOP_LAB_DIR``), and the state file lives in a temporary folder (``WORKSHOP_STATE``,
which the kernels inherit); the test checks that the repository is as it found it.
Screenshots go to ``runs/browser/``; ``docs/lab-fine-tuning.png`` is a copy of
``runs/browser/04-scores.png``, made by hand when the lesson's look changes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

from runner import lab as runner_lab
from utils import paths

pytestmark = [
    # It starts a stand-in of its own, but nothing it checks depends on the account played.
    pytest.mark.same_in_every_account,
    pytest.mark.timeout(1800),
]

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium (``apt-get install chromium``); Playwright's own builds are not used."""

CHROMIUM_FLAGS = [
    "--no-sandbox",  # Chromium's sandbox refuses to start as root, as CI and containers run
    "--disable-gpu",
    # Without these Chromium keeps calling Google's services, which a closed network refuses
    # over and over (and which a test has no business calling anyway).
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SETUP = "00_setup.ipynb"
LESSON = "fine-tuning/01_fine_tune_and_evaluate.ipynb"
COPIED = ("00_setup.ipynb", "data", "fine-tuning")
"""What the served copy holds: the two notebooks and the folders beside them."""

SHOTS = paths.ROOT / "runs" / "browser"
VIEWPORT = {"width": 1280, "height": 860}

START_TIMEOUT = 300.0
"""Seconds for ``make lab`` to print its URL (JupyterLab's first start builds caches)."""
RUN_TIMEOUT = 1200.0
"""Seconds for one notebook's cells (the lesson takes about a minute under papermill)."""
STOP_TIMEOUT = 60.0

PROGRESS_WIDGET = ".jupyter-widgets.widget-hprogress"
"""An ipywidgets progress bar as JupyterLab renders it (tqdm's ``tqdm.auto`` draws one)."""

# Which cells show what, found by the call they make rather than by position.
LOSS_PLOT = "jobs.show_metrics("
SCORE_PLOT = "evaluation.plot_summary("
SCORE_TABLE = "result.table("
JOB_WAIT = "jobs.wait_for_model("

# textContent, not innerText: JupyterLab skips drawing the cells out of view (CSS
# content-visibility), and innerText is empty for those.
# Every code cell's prompt, whether it shows a traceback, and (recorded by an observer since
# the page opened) the cells in which a progress widget appeared, for the visible notebook.
CELLS_JS = """
(panel) => {
  const cells = Array.from(panel.querySelectorAll('.jp-Notebook .jp-Cell'));
  return {
    status: panel.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status ?? null,
    cells: cells.map((cell, index) => ({
      index,
      code: cell.classList.contains('jp-CodeCell'),
      prompt: (cell.querySelector('.jp-InputPrompt')?.textContent ?? '').trim(),
      tracebacks: Array.from(cell.querySelectorAll('.jp-OutputArea-output'))
        .map((out) => out.textContent)
        .filter((text) => text.includes('Traceback (most recent call last)')),
      widgets: cell.querySelectorAll(WIDGET).length,
    })),
    seen: Array.from(window.progressSeen?.[panel.id] ?? []),
  };
}
"""

WATCH_JS = """
(panel) => {
  window.progressSeen = window.progressSeen ?? {};
  const seen = (window.progressSeen[panel.id] = new Set());
  const look = () => {
    const cells = Array.from(panel.querySelectorAll('.jp-Notebook .jp-Cell'));
    cells.forEach((cell, index) => {
      if (cell.querySelector(WIDGET)) seen.add(index);
    });
  };
  new MutationObserver(look).observe(panel, { childList: true, subtree: true });
  look();
}
"""

# Cells out of view have a guessed height until drawn, so one scroll can land short: scroll
# again until the element stays where it is.
SCROLL_JS = """
async (el, block) => {
  const frame = () =>
    new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  let last = null;
  for (let i = 0; i < 20; i++) {
    el.scrollIntoView({ block });
    await frame();
    const top = el.getBoundingClientRect().top;
    if (last !== null && Math.abs(top - last) < 1) return;
    last = top;
  }
}
"""

TABLES_JS = """
(cell) => Array.from(cell.querySelectorAll('.jp-OutputArea-output table')).map((table) => ({
  columns: Array.from(table.querySelectorAll('thead th')).map((th) => th.textContent.trim()),
  rows: Array.from(table.querySelectorAll('tbody tr')).map((tr) => ({
    name: tr.querySelector('th')?.textContent.trim() ?? '',
    values: Array.from(tr.querySelectorAll('td')).map((td) => td.textContent.trim()),
  })),
}))
"""

IMAGES_JS = """
async (cell) => {
  const images = Array.from(cell.querySelectorAll('.jp-OutputArea-output img'));
  await Promise.all(images.map((img) => img.decode().catch(() => null)));
  return images.map((img) => ({
    png: img.src.startsWith('data:image/png'),
    width: img.naturalWidth,
    height: img.naturalHeight,
  }));
}
"""


def _unavailable() -> str | None:
    """Why this machine cannot run the test, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: apt-get install chromium (Debian's build)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed: pip install -r requirements-dev.txt"
    if shutil.which("make") is None:
        return "make is missing"
    return None


def _repository_state() -> tuple[str | None, dict[str, bytes]]:
    """``git status --porcelain`` of the repository (None outside git) and the lessons' bytes."""
    lessons = {name: (paths.ROOT / name).read_bytes() for name in (SETUP, LESSON)}
    try:
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=paths.ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None, lessons
    return status, lessons


def _copy_lessons(target: Path) -> None:
    """The notebooks JupyterLab serves, copied so that its saves never reach the repository."""
    skip = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    target.mkdir(parents=True)
    for name in COPIED:
        source = paths.ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=skip)
        else:
            shutil.copy2(source, target / name)


def _jupyter_settings(config_dir: Path) -> None:
    """JupyterLab settings of the test's own: no toast asking about Jupyter's news feed.

    The toast would cover the screenshots, and answering it means a call to the internet.
    """
    notification = config_dir / "lab/user-settings/@jupyterlab/apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )


def _leftovers(pgid: int, marker: str) -> list[str]:
    """Live (not zombie) processes in group ``pgid`` or with ``marker`` in their command line."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if fields[0] != "Z" and (int(fields[2]) == pgid or marker in cmdline):
                found.append(f"{stat.parent.name}: {cmdline.strip()}")
    return found


def _listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Lab:
    """A running ``make lab``: its process group, its output, and what it printed."""

    process: subprocess.Popen[str]
    log: Path
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    said: list[str] = field(default_factory=list)

    def pump(self) -> None:
        """Copy the output to the log and the queue, so that the pipe never fills up."""
        assert self.process.stdout is not None
        with self.log.open("w", encoding="utf-8") as out:
            for line in self.process.stdout:
                out.write(line)
                out.flush()
                self.lines.put(line)
        self.lines.put(None)

    def url(self, timeout: float = START_TIMEOUT) -> str:
        """The URL ``python -m runner.lab`` prints once JupyterLab answers."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                pytest.fail(f"make lab ended ({self.process.wait()}) without a URL; see {self.log}")
            self.said.append(line)
            if "JupyterLab is ready. Open: " in line:
                return line.split("Open: ", 1)[1].strip()
            if "did not answer" in line:
                pytest.fail(f"{line.strip()} (see {self.log})")
        pytest.fail(f"make lab printed no URL within {timeout:.0f} s; see {self.log}")

    def standin_port(self) -> int:
        """The stand-in's port, from the ``export AWS_ENDPOINT_URL=...`` line it printed."""
        for line in self.said:
            found = re.match(r"export AWS_ENDPOINT_URL=https://127\.0\.0\.1:(\d+)", line)
            if found:
                return int(found.group(1))
        raise AssertionError(f"no AWS_ENDPOINT_URL among: {self.said}")

    def stop(self, marker: str) -> list[str]:
        """Stop ``make lab`` with SIGTERM; what is still alive after, in its group or not.

        The signal goes to make, which passes SIGTERM on to its command (GNU make does), and
        so to the stand-in's process, which stops JupyterLab, which shuts its kernels down.
        (Sent to the whole group, the stand-in's process gets a second one from make; its
        handler ignores it since it once deadlocked there: tests/unit/test_local_main.py.)
        Kernels run in sessions of their own, so they are found by ``marker`` (a path in
        their command lines) rather than by group.
        """
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT)
        deadline = time.monotonic() + STOP_TIMEOUT
        while (left := _leftovers(self.process.pid, marker)) and time.monotonic() < deadline:
            time.sleep(0.5)
        for line in left:  # nothing may outlive the test, whatever it asserts
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
        return left


@pytest.fixture
def browser_ready() -> None:
    """Skip where Chromium or Playwright is missing; fail in CI, which installs both."""
    unavailable = _unavailable()
    if unavailable:
        # .ci/run installs Chromium and requirements-dev.txt Playwright: there a missing
        # browser is a broken build, and a skip would pass it unseen.
        if os.environ.get("CI"):
            pytest.fail(unavailable)
        pytest.skip(unavailable)


@pytest.fixture
def lab_env(browser_ready: None, tmp_path: Path) -> dict[str, str]:
    """The environment of ``make lab``: a learner's, with every file it writes in tmp_path."""
    served = tmp_path / "lab"
    _copy_lessons(served)
    _jupyter_settings(tmp_path / "jupyter")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # The display a learner's JupyterLab picks (utils.progress), not one a caller forced; and
    # not the flags of the make that runs the tests (`make test`), which the inner make takes.
    for name in ("WORKSHOP_PROGRESS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    env |= {
        runner_lab.DIR_ENV: str(served),
        "WORKSHOP_STATE": str(tmp_path / "state.json"),
        "WORKSHOP_HOME": str(tmp_path / "home"),
        "WORKSHOP_LAB_PORT": str(runner_lab.free_port(0)),
        # Jupyter's and IPython's files (settings, workspaces, notebook signatures, kernel
        # connection files, history) of the test's own, not the machine user's.
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter"),
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        # Kernels run in the served copy, outside the repository: make them import this
        # checkout's utils even where the environment's editable install points elsewhere
        # (a git worktree sharing another checkout's .venv).
        "PYTHONPATH": os.pathsep.join(
            [str(paths.ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    return env


@pytest.fixture
def lab(lab_env: dict[str, str], tmp_path: Path) -> Iterator[Lab]:
    """``make lab`` in a process group of its own, stopped and checked gone afterwards."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    before = _repository_state()
    process = subprocess.Popen(
        ["make", "--no-print-directory", "lab"],
        cwd=paths.ROOT,
        env=lab_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a process group of its own: what it leaves is found by it
    )
    running = Lab(process, SHOTS / "make-lab.log")
    pump = threading.Thread(target=running.pump, daemon=True)
    pump.start()
    try:
        yield running
    finally:
        # Every path of the run is under tmp_path: JupyterLab's folder, its kernels'
        # connection files, Chromium's profile.
        left = running.stop(str(tmp_path))
        pump.join(timeout=10)
    assert left == [], f"still running after SIGTERM to make lab: {left}"
    port = int(lab_env["WORKSHOP_LAB_PORT"])
    assert not _listening(port), f"JupyterLab still listens on {port}"
    if running.said:
        standin = running.standin_port()
        assert not _listening(standin), f"the stand-in still listens on {standin}"
    assert not (Path(lab_env["WORKSHOP_HOME"]) / "standin.json").exists()
    # JupyterLab saved outputs into its copy only; make's setup installed nothing new.
    assert _repository_state() == before, "make lab changed the repository's files"


def _tab(page: Any, name: str) -> Any:
    """The current tab of the main area, once it is the one of file ``name``."""
    return page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current").filter(
        has_text=re.compile(f"^{re.escape(name)}$")
    )


def _open(page: Any, path: str) -> Any:
    """Open ``path`` from the file browser as a learner does: folder by folder, then the file.

    Returns the notebook's panel, found by its id so that it stays this notebook's.
    """
    listing = page.locator(".jp-DirListing-content")
    for part in path.split("/"):
        name = page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(part)}$"))
        listing.locator(".jp-DirListing-item").filter(has=name).dblclick()
    _tab(page, path.rsplit("/", 1)[-1]).wait_for()
    current = page.locator("#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden)")
    panel = page.locator(f"#{current.get_attribute('id')}")
    panel.locator(".jp-Notebook .jp-Cell").first.wait_for()
    _wait_for_kernel(page, path.rsplit("/", 1)[-1])
    panel.evaluate(WATCH_JS.replace("WIDGET", json.dumps(PROGRESS_WIDGET)))
    return panel


def _wait_for_kernel(page: Any, name: str, timeout: float = START_TIMEOUT) -> None:
    """Wait until the status bar says the kernel of ``name`` is idle; pick Python 3 if asked.

    The notebook's own execution indicator says idle before any kernel is there; the status
    bar's kernel item names the kernel and its state ("Python 3 (ipykernel) | Idle").
    """
    status = page.locator(f'.jp-StatusBar-TextItem[title="Change kernel for {name}"]')
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dialog = page.locator(".jp-Dialog")
        if dialog.count() and dialog.locator("select").count():
            dialog.locator("select").select_option(label="Python 3 (ipykernel)")
            dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        if status.count() and status.text_content().strip() == "Python 3 (ipykernel) | Idle":
            return
        time.sleep(0.5)
    text = status.text_content() if status.count() else "no kernel status"
    pytest.fail(f"{name}: the kernel is not idle after {timeout:.0f} s ({text})")


def _menu(page: Any, *labels: str, timeout: float = 60.0) -> None:
    """Click through JupyterLab's menu bar: ``_menu(page, "Run", "Run All Cells")``.

    A menu item is greyed out (``lm-mod-disabled``, and a click does nothing) until its
    command applies, e.g. before the notebook is the current widget: then close the menu,
    give the notebook the focus, and open it again.
    """
    top, *items = labels
    bar = page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$"))
    deadline = time.monotonic() + timeout
    while True:
        bar.click()
        menu = page.locator(".lm-Menu:not(.lm-mod-hidden)").last
        for label in items:
            item = menu.locator(".lm-Menu-item").filter(
                has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(label)}$"))
            )
            item.wait_for()
            if "lm-mod-disabled" in (item.get_attribute("class") or ""):
                break
            item.click()
        else:
            return
        page.keyboard.press("Escape")
        if time.monotonic() > deadline:
            pytest.fail(f"menu {' > '.join(labels)} stays disabled")
        page.locator(
            "#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
        ).click(position={"x": 5, "y": 5})
        time.sleep(1)


def _run_all(page: Any, panel: Any, name: str) -> dict[str, Any]:
    """Run > Run All Cells, then wait until every code cell has an execution count.

    Returns the last look at the cells. Stops at the first traceback, since Run All does
    not go past a failing cell.
    """
    panel.locator(".jp-Notebook").click(position={"x": 5, "y": 5})  # the notebook is current
    _menu(page, "Run", "Run All Cells")
    deadline = time.monotonic() + RUN_TIMEOUT
    look: dict[str, Any] = {}
    while time.monotonic() < deadline:
        look = panel.evaluate(CELLS_JS.replace("WIDGET", json.dumps(PROGRESS_WIDGET)))
        code = [c for c in look["cells"] if c["code"]]
        failed = [c for c in code if c["tracebacks"]]
        if failed:
            page.screenshot(path=SHOTS / f"failed-{name}.png")
            tracebacks = "\n".join(t for c in failed for t in c["tracebacks"])
            pytest.fail(f"{name}: cell {failed[0]['index']} failed:\n{tracebacks}")
        ran = all(re.fullmatch(r"\[\d+\]:", c["prompt"]) for c in code)
        if ran and look["status"] == "idle":
            return look
        time.sleep(1)
    page.screenshot(path=SHOTS / f"timeout-{name}.png")
    pytest.fail(f"{name}: not every cell ran within {RUN_TIMEOUT:.0f} s: {look}")


def _save(page: Any, panel: Any, name: str) -> None:
    """File > Save Notebook, and wait until the tab of ``name`` no longer says unsaved."""
    panel.locator(".jp-Notebook").click(position={"x": 5, "y": 5})
    _menu(page, "File", "Save Notebook")
    page.wait_for_function(
        "(tab) => !tab.classList.contains('jp-mod-dirty')",
        arg=_tab(page, name).element_handle(),
    )


def _show(page: Any, target: Any, shot: str, *, block: str = "start") -> None:
    """Scroll ``target`` to the top (``block="end"``: the bottom) and take a screenshot."""
    target.evaluate(SCROLL_JS, block)
    target.evaluate(IMAGES_JS)  # its images drawn before the screenshot
    page.screenshot(path=SHOTS / shot, full_page=True)


def _cell(panel: Any, index: int) -> Any:
    """Cell ``index`` of the notebook in ``panel`` (markdown cells count)."""
    return panel.locator(".jp-Notebook .jp-Cell").nth(index)


def _last_code_cell(look: dict[str, Any]) -> int:
    """The index of the last code cell in a look at the cells."""
    return max(c["index"] for c in look["cells"] if c["code"])


def _cell_index(nb: Any, call: str) -> int:
    """The index of the one code cell whose source makes ``call``."""
    found = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and call in c.source]
    assert len(found) == 1, f"{call!r} in cells {found} of the notebook"
    return found[0]


def _saved_problems(nb: Any) -> list[str]:
    """What a saved notebook shows went wrong: cells that did not run, error outputs."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if not isinstance(cell.get("execution_count"), int):
            problems.append(f"cell {i} has not run")
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
    return problems


def _pngs(cell: Any) -> int:
    """How many PNG images a saved cell's outputs hold."""
    return sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))


def test_make_lab_runs_setup_and_fine_tuning_in_chromium(lab: Lab, lab_env: dict[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    served = Path(lab_env[runner_lab.DIR_ENV])
    url = lab.url()
    timings: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(served.parent / "chromium-profile"),  # a fresh profile every run
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport=VIEWPORT,
            # Its crash reporter keeps a folder under ~/.config whatever the profile: here.
            env={**os.environ, "XDG_CONFIG_HOME": str(served.parent / "chromium-config")},
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.set_default_timeout(120_000)
            page.goto(url)

            started = time.monotonic()
            setup = _open(page, SETUP)
            ran = _run_all(page, setup, "setup")
            timings[SETUP] = time.monotonic() - started
            _save(page, setup, SETUP)
            _show(page, _cell(setup, _last_code_cell(ran)), "01-setup.png", block="end")
            assert _saved_problems(nbformat.read(served / SETUP, as_version=4)) == []

            started = time.monotonic()
            lesson = _open(page, LESSON)
            # The lesson in a wider view: the file browser makes way for the notebook.
            page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
            look = _run_all(page, lesson, "fine-tuning")
            timings[LESSON] = time.monotonic() - started
            _save(page, lesson, LESSON.rsplit("/", 1)[1])

            saved = nbformat.read(served / LESSON, as_version=4)
            assert _saved_problems(saved) == []
            assert len(look["cells"]) == len(saved.cells)  # page cells are the notebook's
            last = _cell(lesson, _last_code_cell(look))
            _show(page, last, "05-fine-tuning-end.png", block="end")

            # Progress: an ipywidgets bar in the cell that waits for the job, at some point.
            wait_cell = _cell_index(saved, JOB_WAIT)
            _show(page, _cell(lesson, wait_cell), "02-job-progress.png")
            seen = set(look["seen"])
            shown_at_end = [c["index"] for c in look["cells"] if c["widgets"]]
            assert wait_cell in seen, (
                f"no progress widget in cell {wait_cell} (widgets seen in {sorted(seen)}); "
                f"its text: {lesson.locator('.jp-Cell').nth(wait_cell).inner_text()[:500]}"
            )

            loss_cell = _cell(lesson, _cell_index(saved, LOSS_PLOT))
            _show(page, loss_cell, "03-loss-plot.png")
            loss_images = loss_cell.evaluate(IMAGES_JS)
            score_cell = _cell(lesson, _cell_index(saved, SCORE_PLOT))
            table_cell = _cell(lesson, _cell_index(saved, SCORE_TABLE))
            # From the table's output down: the table and the score plots in one view.
            _show(page, table_cell.locator(".jp-OutputArea").first, "04-scores.png")
            score_images = score_cell.evaluate(IMAGES_JS)
            tables = table_cell.evaluate(TABLES_JS)
        finally:
            browser.close()

    # The plots, drawn as PNG images on the page and saved as such.
    for what, images, at in (("loss", loss_images, LOSS_PLOT), ("score", score_images, SCORE_PLOT)):
        drawn = [i for i in images if i["png"] and i["width"] > 100 and i["height"] > 100]
        assert drawn, f"no {what} plot on the page: {images}"
        assert _pngs(saved.cells[_cell_index(saved, at)]) == len(images), what

    # The table of scores: one row per model, a column per metric, each a score in [0, 1].
    (table,) = tables
    rows = {row["name"]: row["values"] for row in table["rows"]}
    assert set(rows) == {"base model", "fine-tuned"}, table
    assert {"rouge1", "meteor"} <= set(table["columns"]), table
    for name, values in rows.items():
        scores = [float(v) for v in values]
        assert len(scores) >= 2 and all(0 <= s <= 1 for s in scores), (name, values)

    summary = {
        "progress": "ipywidgets widget",
        "seconds": {k: round(v, 1) for k, v in timings.items()},
        "progress_widget_cells_seen": sorted(seen),
        "progress_widget_cells_at_end": shown_at_end,
        "job_wait_cell": wait_cell,
        "loss_images": loss_images,
        "score_images": score_images,
        "score_table": table,
    }
    (SHOTS / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
