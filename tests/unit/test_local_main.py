"""`python -m runner.lab`: starts, prints exports, records itself for notebooks, stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from runner import lab as local_main
from standin import __main__ as standin_main
from utils import paths


def test_standalone_server_prints_exports_and_cleans_up(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["WORKSHOP_HOME"] = str(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner.lab", "--port", "0"],
        cwd=paths.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        exports = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("export "):
                key, _, value = line[len("export ") :].strip().partition("=")
                exports[key] = value
            if line.startswith("# Press Ctrl-C"):
                break
        url = exports["AWS_ENDPOINT_URL"]
        assert url.startswith("https://127.0.0.1:")
        assert exports["AWS_ACCESS_KEY_ID"] == "testing"
        context = ssl.create_default_context(cafile=exports["AWS_CA_BUNDLE"])
        with urllib.request.urlopen(url + "/_workshop/health", timeout=5, context=context) as resp:
            assert json.load(resp)["ok"] is True
        record = json.loads((tmp_path / "standin.json").read_text())
        assert record["env"]["AWS_ENDPOINT_URL"] == url
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert not (tmp_path / "standin.json").exists()


def test_lab_gives_jupyterlab_the_standin_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    monkeypatch.setenv("AWS_PROFILE", "someone-elses")
    seen: dict[str, Any] = {}

    class FakeLab:
        def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
            seen["cmd"], seen["env"] = cmd, env

        def wait(self) -> int:
            # The stand-in must be up while JupyterLab runs.
            url = seen["env"]["AWS_ENDPOINT_URL"]
            context = ssl.create_default_context(cafile=seen["env"]["AWS_CA_BUNDLE"])
            with urllib.request.urlopen(
                url + "/_workshop/health", timeout=5, context=context
            ) as resp:
                seen["healthy"] = resp.status == 200
            return 0

    monkeypatch.setattr(standin_main.subprocess, "Popen", FakeLab)
    started = time.monotonic()
    assert local_main.main(["--lab"]) == 0
    assert time.monotonic() - started < 30
    assert seen["cmd"][1:3] == ["-m", "jupyterlab"]
    assert seen["env"]["AWS_ENDPOINT_URL"].startswith("https://127.0.0.1:")
    assert "AWS_PROFILE" not in seen["env"]
    assert seen["healthy"] is True
    assert not (tmp_path / "standin.json").exists()


def test_python_m_standin_runs_a_command_with_its_environment_and_records_itself(
    tmp_path: Path,
) -> None:
    record = tmp_path / "standin.json"
    check = (
        "import json, os, sys; env = json.load(open(sys.argv[1]))['env']; "
        "ok = os.environ['AWS_ENDPOINT_URL'] == env['AWS_ENDPOINT_URL']; sys.exit(0 if ok else 3)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        [sys.executable, "-m", "standin", "--record", str(record), "--",
         sys.executable, "-c", check, str(record)],
        cwd=paths.ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "export AWS_ENDPOINT_URL=https://127.0.0.1:" in done.stdout
    assert not record.exists()  # removed when the stand-in stopped
    failing = subprocess.run(
        [sys.executable, "-m", "standin", "--", sys.executable, "-c", "raise SystemExit(7)"],
        cwd=paths.ROOT, env=env, capture_output=True, timeout=60,
    )  # fmt: skip
    assert failing.returncode == 7  # the command's own exit status


def test_root_gets_allow_root_and_the_url_names_port_and_token() -> None:
    command = local_main.lab_command(8899, "abc123", as_root=True)
    assert command[1:3] == ["-m", "jupyterlab"] and command[-1] == "--allow-root"
    assert "--ServerApp.port=8899" in command and "--ServerApp.port_retries=0" in command
    assert "--IdentityProvider.token=abc123" in command
    assert "--allow-root" not in local_main.lab_command(8899, "abc123", as_root=False)
    assert local_main.lab_url(8899, "abc123") == "http://127.0.0.1:8899/lab?token=abc123"


def test_workshop_lab_dir_is_the_folder_jupyterlab_serves(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(local_main.DIR_ENV, raising=False)
    assert local_main.notebook_dir() == paths.ROOT
    assert f"--notebook-dir={paths.ROOT}" in local_main.lab_command(1, "t", as_root=False)
    monkeypatch.setenv(local_main.DIR_ENV, str(tmp_path))
    assert local_main.notebook_dir() == tmp_path.resolve()
    command = local_main.lab_command(1, "t", as_root=False, folder=local_main.notebook_dir())
    assert f"--notebook-dir={tmp_path.resolve()}" in command
    # A folder that is not there stops before the stand-in starts, not in JupyterLab's log.
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    monkeypatch.setenv(local_main.DIR_ENV, str(tmp_path / "missing"))
    assert local_main.main(["--lab"]) == 2
    assert not (tmp_path / "standin.json").exists()


def test_a_taken_port_gives_way_to_a_free_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        other = local_main.free_port(busy)
    assert other != busy and other > 0


def test_make_lab_starts_jupyterlab_prints_its_url_and_stops_on_sigterm(tmp_path: Path) -> None:
    # As whoever runs the suite: root in CI and containers, where JupyterLab alone refuses.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"WORKSHOP_HOME": str(tmp_path), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    env["WORKSHOP_LAB_PORT"] = str(local_main.free_port(0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner.lab", "--lab"],
        cwd=paths.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        said = []
        for line in proc.stdout:
            said.append(line)
            if "JupyterLab is ready. Open: " in line or "did not answer" in line:
                break
        url = said[-1].split("Open: ", 1)[-1].strip()
        assert url.startswith(f"http://127.0.0.1:{env['WORKSHOP_LAB_PORT']}/lab?token="), said
        assert ("with --allow-root" in "".join(said)) == (os.geteuid() == 0)
        token = url.rsplit("=", 1)[1]
        api = url.replace("/lab?", "/api/contents?")
        with urllib.request.urlopen(api, timeout=10) as resp:
            names = {item["name"] for item in json.load(resp)["content"]}
        assert {"00_setup.ipynb", "fine-tuning", "03_cleanup.ipynb"} <= names  # the repository
        with pytest.raises(urllib.error.HTTPError):  # and nobody without the token
            urllib.request.urlopen(api.replace(token, "wrong"), timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0  # JupyterLab shut down cleanly on the signal passed on to it
    with socket.socket() as probe:  # and nothing listens on its port any more
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT only
        probe.bind(("127.0.0.1", int(env["WORKSHOP_LAB_PORT"])))


def test_the_sigterm_handler_ignores_later_sigterms_before_it_takes_any_lock() -> None:
    # make passes a SIGTERM on and a signal to the group arrives as well: a second one inside
    # the handler's Event.set() once deadlocked it on the Event's own lock.
    seen = []

    class Stopped(threading.Event):
        def set(self) -> None:
            seen.append(signal.getsignal(signal.SIGTERM))
            super().set()

    stopped, before = Stopped(), signal.getsignal(signal.SIGTERM)
    try:
        standin_main.terminator(stopped, [])(signal.SIGTERM, None)
        assert seen == [signal.SIG_IGN] and stopped.is_set()
    finally:
        signal.signal(signal.SIGTERM, before)
