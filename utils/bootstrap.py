"""Install the workshop into the running kernel's environment, once: JupyterLab without make.

``00_setup.ipynb`` calls :func:`ensure` in its first code cell. It imports nothing but the
standard library, because it runs before anything else is installed; the notebook finds it
because a kernel starts in the notebook's folder, the repository's root.

What it installs is what ``make`` installs: ``requirements.txt`` with every package pinned by
``requirements.lock``, then the project itself in editable mode, so that a notebook in a
subfolder imports ``utils`` without editing paths. One exception: a package the running
kernel has already imported, or a piece of the Jupyter server that serves this page, stays
at the version installed. Changing those under a running kernel needs a restart, and in
SageMaker Studio the kernel's environment also runs JupyterLab itself.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from utils import paths  # the standard library only, like this module
from utils.progress import elapsed  # at import, the standard library only too

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "bedrock-customization-workshop"

SERVER = frozenset(
    {
        "jupyterlab",
        "jupyterlab-server",
        "jupyterlab-widgets",
        "jupyter-server",
        "jupyter-lsp",
        "notebook",
        "notebook-shim",
        "widgetsnbextension",
    }
)
"""The Jupyter server showing this page: never changed by the notebook (Studio runs it here)."""

KERNEL = frozenset(
    {"ipykernel", "ipython", "ipywidgets", "jupyter-client", "jupyter-core", "comm", "traitlets"}
)
"""The running kernel's own packages: kept if the pins allow it, else changed and restarted."""

JUPYTER_STACK = SERVER | KERNEL


HEARTBEAT = 60.0
"""Seconds at most between two lines while pip works (it can take minutes)."""

PIP_LOG = "bootstrap-pip.log"
"""pip's full output, under ``.workshop/`` (``WORKSHOP_HOME``), for when it fails."""


class RestartKernel(RuntimeError):
    """Packages the kernel had loaded changed: it must restart before the notebook goes on."""


class InstallFailed(RuntimeError):
    """pip could not install the workshop's packages."""


def normalise(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _pinned(text: str) -> Iterator[tuple[str, str, str]]:
    """``(name, extras, version)`` of each ``name[extras]==version`` line, comments aside."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*(\S+)", line)
        if match:
            yield match[1], match[2] or "", match[3]


def pins(text: str) -> dict[str, str]:
    """``name==version`` lines of a requirements or lock file, by normalised name."""
    return {normalise(name): version for name, _, version in _pinned(text)}


def repinned(text: str, kept: Mapping[str, str]) -> list[str]:
    """The ``name==version`` lines of ``text`` (extras kept), with ``kept`` names at their pin."""
    return [f"{n}{x}=={kept.get(normalise(n), v)}" for n, x, v in _pinned(text)]


def installed(name: str) -> str | None:
    """The installed version of distribution ``name``, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def loaded_distributions(modules: Iterable[str] | None = None) -> set[str]:
    """Distributions whose modules this process has imported (normalised names)."""
    names = sys.modules if modules is None else modules
    owners = metadata.packages_distributions()
    tops = {m.split(".", 1)[0] for m in names}
    return {normalise(d) for top in tops for d in owners.get(top, ())}


def project_home() -> Path | None:
    """Where this environment's install of the project points, or None if it has none.

    Only an install's ``direct_url.json`` counts: the ``*.egg-info`` folder an editable
    build leaves in the repository is found too when the kernel starts there, and says
    nothing about this environment.
    """
    for dist in metadata.distributions(name=PROJECT):
        text = dist.read_text("direct_url.json")
        if text:
            url = json.loads(text).get("url", "")
            if url.startswith("file://"):
                return Path(url.removeprefix("file://")).resolve()
    return None


def same_version(have: str | None, pin: str) -> bool:
    """Whether ``have`` satisfies ``==pin`` as pip reads it (a local label such as +cpu aside)."""
    return have is not None and have.split("+", 1)[0] == pin


@dataclass
class Plan:
    """What this environment lacks, and the pins pip is given (kept packages at their own)."""

    missing: list[str]
    kept: dict[str, str]
    requirements: list[str]
    constraints: list[str]
    project: bool
    loaded: set[str] = field(default_factory=set)

    @property
    def needed(self) -> bool:
        """Whether anything is to be installed."""
        return bool(self.missing) or self.project


def plan(
    root: Path = ROOT,
    *,
    version: Callable[[str], str | None] | None = None,
    loaded: set[str] | None = None,
    home: Path | str | None = "ask",
    keep_loaded: bool = True,
    keep_kernel: bool = True,
) -> Plan:
    """Compare ``requirements.txt`` with this environment and write pip's inputs.

    Args:
        root: The repository (its requirements files and ``pyproject.toml``).
        version: The installed version of a distribution (tests pass their own).
        loaded: Distributions with imported modules; this process's by default.
        home: Where the installed project points (tests pass their own).
        keep_loaded: Keep every loaded distribution at its version, not only the Jupyter
            stack; a kernel's own packages can conflict with the workshop's pins.
        keep_kernel: Keep the kernel's packages (:data:`KERNEL`); the server's are always kept.
    """
    direct = pins((root / "requirements.txt").read_text())
    locked = pins((root / "requirements.lock").read_text())
    version = version or installed
    # Versions and loaded modules cost a scan of every installed package each: on the usual
    # run, which finds every direct requirement on its pin, only those are looked up.
    have = {name: version(name) for name in set(direct) | (set(locked) & JUPYTER_STACK)}
    off_pin = any(not same_version(have[n], pin) for n, pin in direct.items())
    if loaded is not None:
        in_use = loaded
    else:
        in_use = loaded_distributions() if off_pin and keep_loaded else set()
    have.update({n: version(n) for n in (set(locked) & in_use) - have.keys()})
    kept: dict[str, str] = {}
    for name, found in have.items():
        keep = (
            name in SERVER or (keep_kernel and name in KERNEL) or (keep_loaded and name in in_use)
        )
        if found is not None and keep:
            kept[name] = found
    missing = sorted(
        n for n, pin in direct.items() if n not in kept and not same_version(have[n], pin)
    )
    requirements = repinned((root / "requirements.txt").read_text(), kept)
    constraints = repinned((root / "requirements.lock").read_text(), kept)
    where = project_home() if home == "ask" else home
    return Plan(
        missing=missing,
        kept=kept,
        requirements=requirements,
        constraints=constraints,
        project=where != root.resolve(),
        loaded=set(in_use),
    )


def _pip(args: Sequence[str], log: Path, say: Callable[[str], None]) -> None:
    """Run ``python -m pip`` with ``args``, a status line at least once a minute."""
    command = [sys.executable, "-m", "pip", *args, "--progress-bar", "off", "--no-input"]
    started = last = time.monotonic()
    tail: list[str] = []
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        assert child.stdout is not None
        for line in child.stdout:
            out.write(line)
            tail = [*tail[-19:], line.rstrip()]
            now = time.monotonic()
            if line.startswith(("Collecting", "Installing collected")) and now - last >= HEARTBEAT:
                say(f"  pip, {elapsed(now - started)} in: {line.strip()[:100]}")
                last = now
        code = child.wait()
    if code:
        shown = "\n".join(f"    {t}" for t in tail[-12:])
        raise InstallFailed(
            f"pip failed (exit {code}). Its last lines:\n{shown}\nThe whole output is in {log}. "
            "Check that this machine reaches PyPI (a proxy or a private index is set with "
            "pip's PIP_INDEX_URL), then run this cell again; or, in a terminal in this folder: "
            f"{sys.executable} -m pip install -r requirements.txt -c requirements.lock && "
            f"{sys.executable} -m pip install --no-deps -e ."
        )


def ensure(
    root: Path = ROOT,
    *,
    say: Callable[[str], None] = print,
    pip: Callable[[Sequence[str], Path, Callable[[str], None]], None] = _pip,
    environ: Mapping[str, str] | None = None,
) -> Plan:
    """Install what this kernel's environment lacks (nothing when all is there); see the module.

    Raises:
        InstallFailed: pip failed; the message holds its last lines and what to do.
        RestartKernel: a package the kernel had already imported changed version.
    """
    env = os.environ if environ is None else environ
    todo = plan(root)
    python = sys.executable
    if not todo.needed:
        say(f"The workshop's packages are installed for this kernel ({python}): nothing to do.")
        return todo
    if todo.missing:
        listed = ", ".join(todo.missing[:6]) + (" and more" if len(todo.missing) > 6 else "")
        say(
            f"This kernel's environment ({python}) lacks {len(todo.missing)} of the workshop's "
            f"{len(todo.requirements)} packages ({listed}). Installing them with pip, pinned to "
            "the versions the workshop is tested with: a few minutes the first time (PyTorch "
            "alone is a large download)."
        )
        if todo.kept:
            kept = ", ".join(f"{n} {v}" for n, v in sorted(todo.kept.items()))
            say(f"Kept as installed (this kernel and JupyterLab use them): {kept}.")
    else:
        say(f"Installing the workshop itself for this kernel ({python}), in editable mode.")
    before = {n: installed(n) for n in todo.loaded}
    home = paths.workshop_dir()
    home.mkdir(parents=True, exist_ok=True)
    log = home / PIP_LOG
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        req, con = Path(scratch, "requirements.txt"), Path(scratch, "constraints.txt")
        req.write_text("\n".join(todo.requirements) + "\n")
        con.write_text("\n".join(todo.constraints) + "\n")
        if todo.missing:
            # Keep as much of the running kernel as the pins allow: all it has loaded, then
            # its Jupyter packages, then only the server's (a restart follows).
            fallbacks = [  # (what is kept, keep_loaded, keep_kernel)
                ("keeping only the Jupyter packages", False, True),
                ("keeping only the Jupyter server", False, False),
            ]
            while True:
                try:
                    pip(["install", "-r", str(req), "-c", str(con)], log, say)
                    break
                except InstallFailed as failed:
                    if "ResolutionImpossible" not in str(failed) or not fallbacks:
                        raise
                    how, loaded, kernel = fallbacks.pop(0)
                    looser = plan(root, keep_loaded=loaded, keep_kernel=kernel)
                    if looser.kept == todo.kept:
                        continue
                    todo = looser
                    say(
                        "The versions this kernel uses conflict with the workshop's pins "
                        f"(see {log}): installing again, {how}."
                    )
                    req.write_text("\n".join(todo.requirements) + "\n")
                    con.write_text("\n".join(todo.constraints) + "\n")
        pip(["install", "--no-deps", "-e", str(root)], log, say)
    if str(root) not in sys.path:
        sys.path.append(str(root))  # what the editable install's .pth does at the next start
    after = {n: installed(n) for n in before}
    changed = {n: (v, after[n]) for n, v in before.items() if v != after[n]}
    say(f"Installed in {elapsed(time.monotonic() - started)}; pip's output is in {log}.")
    direct = pins((root / "requirements.txt").read_text())
    if changed.keys() & direct.keys():
        raise RestartKernel(
            f"Packages the workshop uses changed under this kernel: "
            f"{', '.join(sorted(changed.keys() & direct.keys()))}. Restart the kernel (Kernel > "
            "Restart Kernel), then run this notebook from the top; this cell will then find "
            "everything installed."
        )
    if changed:
        moved = ", ".join(f"{n} {old} -> {new}" for n, (old, new) in sorted(changed.items()))
        say(
            f"Changed under the running kernel, which keeps the versions it loaded until it "
            f"restarts: {moved}. If a later cell fails in one of them, restart the kernel "
            "(Kernel > Restart Kernel) and run the notebook again."
        )
    if "ipywidgets" in todo.missing and env.get("JPY_SESSION_NAME"):
        say("ipywidgets is new here: reload this browser page to see progress bars as widgets.")
    return todo
