"""JupyterLab in headless Chromium, as a learner uses it: what the browser tests share.

Playwright drives Debian's Chromium (no downloaded browser build). Notebooks are opened from
the file browser, run with Run > Run All Cells, saved with File > Save Notebook and closed
with their kernels; what a run showed is read from the page, and what went wrong from the
notebook JupyterLab saved, which is the authority on errors and execution counts.
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

from utils import paths

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

SHOTS = paths.ROOT / "runs" / "browser"
VIEWPORT = {"width": 1280, "height": 860}

START_TIMEOUT = 300.0
"""Seconds for JupyterLab to print its URL, or a kernel to start (first starts build caches)."""
RUN_TIMEOUT = 1200.0
"""Seconds for one notebook's cells (the longest lesson takes about a minute and a half)."""
STOP_TIMEOUT = 60.0

PROGRESS_WIDGET = ".jupyter-widgets.widget-hprogress"
"""An ipywidgets progress bar as JupyterLab renders it (tqdm's ``tqdm.notebook`` draws one)."""

KERNEL = "Python 3 (ipykernel)"

# textContent, not innerText: JupyterLab skips drawing the cells out of view (CSS
# content-visibility), and innerText is empty for those.
# Every code cell's prompt and (recorded by an observer since the notebook opened) the cells
# in which a progress widget appeared, for the visible notebook.
CELLS_JS = """
(panel) => {
  const cells = Array.from(panel.querySelectorAll('.jp-Notebook .jp-Cell'));
  return {
    status: panel.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status ?? null,
    cells: cells.map((cell, index) => ({
      index,
      code: cell.classList.contains('jp-CodeCell'),
      prompt: (cell.querySelector('.jp-InputPrompt')?.textContent ?? '').trim(),
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


# --- the machine and the processes ---------------------------------------------------------


def unavailable() -> str | None:
    """Why this machine cannot run a browser test, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: apt-get install chromium (Debian's build)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed: pip install -r requirements-dev.txt"
    if shutil.which("make") is None:
        return "make is missing"
    return None


def require_browser() -> None:
    """Skip where Chromium or Playwright is missing; fail in CI, which installs both."""
    missing = unavailable()
    if missing:
        # .ci/run installs Chromium and requirements-dev.txt Playwright: there a missing
        # browser is a broken build, and a skip would pass it unseen.
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)


def jupyter_settings(config_dir: Path) -> None:
    """JupyterLab settings of the test's own: no toast asking about Jupyter's news feed.

    The toast would cover the screenshots, and answering it means a call to the internet.
    """
    notification = config_dir / "lab/user-settings/@jupyterlab/apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )


def jupyter_dirs(tmp_path: Path) -> dict[str, str]:
    """Jupyter's and IPython's folders under ``tmp_path``, not the machine user's.

    Settings, workspaces, notebook signatures, kernel connection files and history.
    """
    jupyter_settings(tmp_path / "jupyter")
    return {
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter"),
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }


def leftovers(pgid: int, marker: str | None = None) -> list[str]:
    """Live (not zombie) processes in group ``pgid`` or with ``marker`` in their command line."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if fields[0] != "Z" and (int(fields[2]) == pgid or (marker and marker in cmdline)):
                found.append(f"{stat.parent.name}: {cmdline.strip()}")
    return found


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Served:
    """A process that prints as it serves (``make lab``, JupyterLab, the stand-in).

    Started in a process group of its own; its output is copied to ``log`` and queued, so
    that the pipe never fills up and the test can wait for a line.
    """

    process: subprocess.Popen[str]
    log: Path
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    said: list[str] = field(default_factory=list)

    def pump(self) -> None:
        """Copy the output to the log and the queue until the process closes it."""
        assert self.process.stdout is not None
        with self.log.open("w", encoding="utf-8") as out:
            for line in self.process.stdout:
                out.write(line)
                out.flush()
                self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str, what: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        """The first line (from now on) matching ``pattern``; fails when it does not come."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                pytest.fail(f"it ended ({self.process.wait()}) without {what}; see {self.log}")
            self.said.append(line)
            if found := re.search(pattern, line):
                return found
            if "did not answer" in line:
                pytest.fail(f"{line.strip()} (see {self.log})")
        pytest.fail(f"no {what} within {timeout:.0f} s; see {self.log}")

    def url(self) -> str:
        """The URL ``python -m runner.lab --lab`` prints once JupyterLab answers."""
        return self.wait_for(r"JupyterLab is ready\. Open: (\S+)", "JupyterLab URL").group(1)

    def standin_port(self) -> int:
        """The stand-in's port, from the ``export AWS_ENDPOINT_URL=...`` line it printed."""
        for line in self.said:
            found = re.match(r"export AWS_ENDPOINT_URL=https://127\.0\.0\.1:(\d+)", line)
            if found:
                return int(found.group(1))
        raise AssertionError(f"no AWS_ENDPOINT_URL among: {self.said}")

    def stop(self, marker: str | None = None) -> list[str]:
        """Stop it with SIGTERM; what is still alive after, in its group or not.

        For ``make lab`` the signal goes to make, which passes SIGTERM on to its command (GNU
        make does), and so to the stand-in's process, which stops JupyterLab, which shuts
        its kernels down. (Sent to the whole group, the stand-in's process gets a second one
        from make; its handler ignores it since it once deadlocked there:
        tests/unit/test_local_main.py.) Kernels run in sessions of their own, so they are
        found by ``marker`` (a path in their command lines) rather than by group.
        """
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT)
        deadline = time.monotonic() + STOP_TIMEOUT
        while (left := leftovers(self.process.pid, marker)) and time.monotonic() < deadline:
            time.sleep(0.5)
        for line in left:  # nothing may outlive the test, whatever it asserts
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
        return left


def serve(command: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> Served:
    """Start ``command`` in a process group of its own, its output pumped to ``log``."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a process group of its own: what it leaves is found by it
    )
    served = Served(process, log)
    threading.Thread(target=served.pump, daemon=True).start()
    return served


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A page of headless Chromium with a fresh profile under ``profile``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport=VIEWPORT,
            # Its crash reporter keeps a folder under ~/.config whatever the profile: here.
            env={**os.environ, "XDG_CONFIG_HOME": str(profile / "chromium-config")},
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.set_default_timeout(120_000)
            yield page
        finally:
            browser.close()


# --- JupyterLab's UI ------------------------------------------------------------------------


def tab(page: Any, name: str) -> Any:
    """The current tab of the main area, once it is the one of file ``name``."""
    return page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current").filter(
        has_text=re.compile(f"^{re.escape(name)}$")
    )


def file_browser(page: Any, shown: bool) -> None:
    """Show the file browser in the left sidebar, or fold the sidebar away for a wider view."""
    listing = page.locator(".jp-DirListing-content")
    # The tab, not the listing, says whether the panel is open: while JupyterLab is still
    # laying out, the listing of an open panel can be hidden for a moment.
    toggle = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="filebrowser"]')
    toggle.wait_for()
    if ("lm-mod-current" in (toggle.get_attribute("class") or "")) != shown:
        toggle.click()
    if shown:
        listing.wait_for(state="visible")
    else:
        listing.wait_for(state="hidden")


def open_notebook(page: Any, path: str) -> Any:
    """Open ``path`` from the file browser as a learner does: from the top, folder by folder.

    Returns the notebook's panel, found by its id so that it stays this notebook's.
    """
    file_browser(page, shown=True)
    page.locator(".jp-FileBrowser .jp-BreadCrumbs-home").click()
    listing = page.locator(".jp-DirListing-content")
    for part in path.split("/"):
        name = page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(part)}$"))
        listing.locator(".jp-DirListing-item").filter(has=name).dblclick()
    name = path.rsplit("/", 1)[-1]
    tab(page, name).wait_for()
    current = page.locator("#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden)")
    panel = page.locator(f"#{current.get_attribute('id')}")
    panel.locator(".jp-Notebook .jp-Cell").first.wait_for()
    wait_for_kernel(page, name)
    panel.evaluate(WATCH_JS.replace("WIDGET", json.dumps(PROGRESS_WIDGET)))
    return panel


def kernel_status(page: Any, name: str) -> Any:
    """The status bar's kernel item of notebook ``name`` ("Python 3 (ipykernel) | Idle")."""
    return page.locator(f'.jp-StatusBar-TextItem[title="Change kernel for {name}"]')


def wait_for_kernel(page: Any, name: str, timeout: float = START_TIMEOUT) -> None:
    """Wait until the status bar says the kernel of ``name`` is idle; pick Python 3 if asked.

    The notebook's own execution indicator says idle before any kernel is there; the status
    bar's kernel item names the kernel and its state.
    """
    status = kernel_status(page, name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dialog = page.locator(".jp-Dialog")
        if dialog.count() and dialog.locator("select").count():
            dialog.locator("select").select_option(label=KERNEL)
            dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        if status.count() and status.text_content().strip() == f"{KERNEL} | Idle":
            return
        time.sleep(0.5)
    text = status.text_content() if status.count() else "no kernel status"
    pytest.fail(f"{name}: the kernel is not idle after {timeout:.0f} s ({text})")


def focus(page: Any) -> None:
    """Give the visible notebook the focus, so that the menus' notebook commands apply."""
    page.locator("#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").click(
        position={"x": 5, "y": 5}
    )


def menu(page: Any, *labels: str, timeout: float = 60.0) -> None:
    """Click through JupyterLab's menu bar: ``menu(page, "Run", "Run All Cells")``.

    A menu item is greyed out (``lm-mod-disabled``, and a click does nothing) until its
    command applies, e.g. before the notebook is the current widget: then close the menu,
    give the notebook the focus, and open it again.
    """
    top, *items = labels
    bar = page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$"))
    deadline = time.monotonic() + timeout
    while True:
        bar.click()
        opened = page.locator(".lm-Menu:not(.lm-mod-hidden)").last
        for label in items:
            item = opened.locator(".lm-Menu-item").filter(
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
        focus(page)
        time.sleep(1)


def accept_dialog(page: Any, timeout: float = 10.0) -> bool:
    """Click the accepting button of a dialog if one opens within ``timeout``; whether it did."""
    button = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    try:
        button.wait_for(timeout=timeout * 1000)
    except Exception:  # Playwright's TimeoutError: no dialog came
        return False
    button.click()
    return True


def look_at(panel: Any) -> dict[str, Any]:
    """The cells of the notebook in ``panel`` as the page shows them now."""
    return panel.evaluate(CELLS_JS.replace("WIDGET", json.dumps(PROGRESS_WIDGET)))


def run_all(page: Any, panel: Any, name: str, timeout: float = RUN_TIMEOUT) -> dict[str, Any]:
    """Run > Run All Cells, then wait until the run has ended; the last look at the cells.

    The run has ended when something ran, no cell is queued or running (``[*]``) and the
    kernel is idle, twice in a row: after every cell, or at the first failing one, since
    Run All goes no further than that. What failed is read from the saved notebook.
    """
    focus(page)
    menu(page, "Run", "Run All Cells")
    deadline = time.monotonic() + timeout
    look: dict[str, Any] = {}
    quiet = 0
    while time.monotonic() < deadline:
        look = look_at(panel)
        prompts = [c["prompt"] for c in look["cells"] if c["code"]]
        ran = any(re.fullmatch(r"\[\d+\]:", p) for p in prompts)
        busy = any(p == "[*]:" for p in prompts)
        quiet = quiet + 1 if ran and not busy and look["status"] == "idle" else 0
        if quiet >= 2:
            return look
        time.sleep(1)
    page.screenshot(path=SHOTS / f"timeout-{name}.png")
    pytest.fail(f"{name}: the run did not end within {timeout:.0f} s: {look}")


def save(page: Any, name: str) -> None:
    """File > Save Notebook, and wait until the tab of ``name`` no longer says unsaved."""
    focus(page)
    menu(page, "File", "Save Notebook")
    page.wait_for_function(
        "(tab) => !tab.classList.contains('jp-mod-dirty')",
        arg=tab(page, name).element_handle(),
    )


def close_and_shut_down(page: Any, name: str) -> None:
    """File > Close and Shut Down Notebook: its kernel, and the memory it holds, go away."""
    focus(page)
    menu(page, "File", "Close and Shut Down Notebook…")
    accept_dialog(page)
    page.locator("#jp-main-dock-panel .lm-TabBar-tab").filter(
        has_text=re.compile(f"^{re.escape(name)}$")
    ).wait_for(state="detached")


def show(page: Any, target: Any, shot: str, *, block: str = "start") -> list[dict[str, Any]]:
    """Scroll ``target`` to the top (``block="end"``: the bottom) and take a screenshot.

    Returns the images drawn in it, decoded first so that the screenshot shows them.
    """
    target.evaluate(SCROLL_JS, block)
    images = target.evaluate(IMAGES_JS)
    page.screenshot(path=SHOTS / shot, full_page=True)
    return images


def cell(panel: Any, index: int) -> Any:
    """Cell ``index`` of the notebook in ``panel`` (markdown cells count)."""
    return panel.locator(".jp-Notebook .jp-Cell").nth(index)


def last_code_cell(look: dict[str, Any]) -> int:
    """The index of the last code cell in a look at the cells."""
    return max(c["index"] for c in look["cells"] if c["code"])


def cell_index(nb: Any, call: str) -> int:
    """The index of the one code cell whose source makes ``call``."""
    found = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and call in c.source]
    assert len(found) == 1, f"{call!r} in cells {found} of the notebook"
    return found[0]


def errors(nb: Any) -> list[tuple[int, str, str]]:
    """The error outputs of a saved notebook: (cell index, exception name, its message)."""
    return [
        (i, out.get("ename", ""), out.get("evalue", ""))
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for out in c.get("outputs", [])
        if out.get("output_type") == "error"
    ]


def not_run(nb: Any) -> list[int]:
    """The code cells of a saved notebook that have no execution count."""
    return [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and not isinstance(c.get("execution_count"), int)
    ]


def problems(nb: Any) -> list[str]:
    """What a saved notebook shows went wrong: cells that did not run, error outputs."""
    return [f"cell {i} has not run" for i in not_run(nb)] + [
        f"cell {i}: {name}: {message}" for i, name, message in errors(nb)
    ]


def pngs(cell: Any) -> int:
    """How many PNG images a saved cell's outputs hold."""
    return sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))


def read_saved(path: Path) -> Any:
    """The notebook JupyterLab saved at ``path``."""
    return nbformat.read(path, as_version=4)
