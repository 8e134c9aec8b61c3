"""``python -m runner.lab [--lab]``: the stand-in, recorded where notebooks look for it.

With ``--lab`` it also starts JupyterLab, whose kernels inherit the stand-in's environment,
and prints the one URL to open once JupyterLab answers. Other options go to
``python -m standin``.

JupyterLab refuses to start as root ("Running as root is not recommended. Use --allow-root
to bypass.", jupyter_server's ``ServerApp``), and containers and CI machines often run as
root, so there it is started with ``--allow-root`` and says so. The port is
``WORKSHOP_LAB_PORT`` (default 8888, or a free one when 8888 is taken); JupyterLab is told
not to move to another port, so the printed URL is the one it serves.

JupyterLab serves the repository, or the folder ``WORKSHOP_LAB_DIR`` names (its
``--notebook-dir``): a copy of the notebooks, say, whose outputs JupyterLab may then autosave
without touching the repository's, as the browser test does. The lessons find the workshop's
data through ``utils.paths``, not beside themselves, so a copy needs only the notebooks.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from standin import __main__ as standin_main
from utils import clients, paths

DEFAULT_PORT = 8888
HOST = "127.0.0.1"
DIR_ENV = "WORKSHOP_LAB_DIR"
"""Environment variable naming the folder JupyterLab serves instead of the repository."""
READY_TIMEOUT = 120.0
"""Seconds to wait for JupyterLab to answer before saying it has not."""


def running_as_root() -> bool:
    """Whether this process runs as root (never on Windows, which has no euid)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def free_port(preferred: int = DEFAULT_PORT) -> int:
    """``preferred`` if nothing listens there, else a port the system picks."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, preferred))
        except OSError:
            probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def lab_url(port: int, token: str) -> str:
    """The address a learner opens: JupyterLab with its token."""
    return f"http://{HOST}:{port}/lab?token={token}"


def notebook_dir() -> Path:
    """The folder JupyterLab serves: ``WORKSHOP_LAB_DIR`` when set, else the repository."""
    chosen = os.environ.get(DIR_ENV)
    return Path(chosen).resolve() if chosen else paths.ROOT


def lab_command(port: int, token: str, *, as_root: bool, folder: Path = paths.ROOT) -> list[str]:
    """JupyterLab on ``port`` with ``token``, serving ``folder``; ``--allow-root`` for root."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--notebook-dir={folder}",
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",  # fail rather than serve elsewhere than the URL says
        f"--IdentityProvider.token={token}",
    ]
    if as_root:
        command.append("--allow-root")
    return command


def announce_when_ready(
    port: int, token: str, stop: threading.Event, timeout: float = READY_TIMEOUT
) -> bool:
    """Wait until JupyterLab answers on ``port``, then print the URL; False if it never did."""
    status = f"http://{HOST}:{port}/api/status?token={token}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        try:
            with urllib.request.urlopen(status, timeout=2) as answer:
                if answer.status == 200:
                    print(f"\n# JupyterLab is ready. Open: {lab_url(port, token)}\n", flush=True)
                    return True
        except (urllib.error.URLError, OSError):
            pass
        stop.wait(0.5)
    if not stop.is_set():
        print(f"# JupyterLab did not answer on port {port} within {timeout:.0f} s.", flush=True)
    return False


def main(argv: list[str] | None = None) -> int:
    """Serve the stand-in (and JupyterLab with ``--lab``) until interrupted."""
    args = list(sys.argv[1:] if argv is None else argv)
    lab = "--lab" in args
    args = [a for a in args if a != "--lab"]
    args += ["--record", str(clients.standin_file())]
    if lab:
        port = free_port(int(os.environ.get("WORKSHOP_LAB_PORT") or DEFAULT_PORT))
        token = secrets.token_hex(16)
        as_root = running_as_root()
        if as_root:
            print("# Running as root: JupyterLab is started with --allow-root.", flush=True)
        folder = notebook_dir()
        if not folder.is_dir():
            print(f"# {DIR_ENV}={folder} is not a folder.", file=sys.stderr, flush=True)
            return 2
        args += ["--", *lab_command(port, token, as_root=as_root, folder=folder)]
        done = threading.Event()
        threading.Thread(target=announce_when_ready, args=(port, token, done), daemon=True).start()
        try:
            return standin_main.main(args)
        finally:
            done.set()
    return standin_main.main(args)


if __name__ == "__main__":
    sys.exit(main())
