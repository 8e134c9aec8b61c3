"""A scoring process that imports fmeval once for every notebook of a run.

Building fmeval's ROUGE and METEOR transforms costs about 6 s in each fresh kernel
(fmeval imports ``evaluate``, which imports ``transformers`` and Ray) and the first METEOR
score loads WordNet; a notebook's own scoring of 80 answers takes under a second. The
headless runner and the test suite therefore start one :class:`Scorer` and point every
kernel at it through :data:`ENV_VAR`; :func:`utils.evaluation.score` then sends the
(output, reference) pairs there and gets back exactly what the same pipeline computes in
process. Without the variable, or when the process does not answer, scoring happens in the
kernel as before.

The parent binds the listening socket and hands it to the child, so the address is known
at once and requests made while the child is still importing fmeval simply wait. The
child exits when its parent does, so nothing is left running.

Run by :class:`Scorer`; ``python -m runner.scorer --fd N --token T`` is its entry point.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from utils import evaluation
from utils.evaluation.remote import ENV_VAR, REQUEST_TIMEOUT

log = logging.getLogger(__name__)


class Scorer:
    """The scoring process: started by :meth:`start`, stopped by :meth:`stop` (or with us).

    Attributes:
        url: Where kernels send their pairs; put it in :data:`ENV_VAR`.
        process: The child process.
    """

    def __init__(self, url: str, process: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.process = process

    @classmethod
    def start(cls, log_file: Path | None = None, env: Mapping[str, str] | None = None) -> Scorer:
        """Start the process; it is ready to be called at once (requests wait for fmeval)."""
        token = secrets.token_urlsafe(12)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(64)
            port = listener.getsockname()[1]
            log_to = open(log_file, "ab") if log_file else contextlib.nullcontext()  # noqa: SIM115
            with log_to as out:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "runner.scorer",
                        "--fd",
                        str(listener.fileno()),
                        # One argument: a token may start with "-", which argparse would
                        # take for an option of its own (seen: 1 start in 64 failed).
                        f"--token={token}",
                        "--parent",
                        str(os.getpid()),
                    ],
                    pass_fds=[listener.fileno()],
                    env=dict(env) if env is not None else None,
                    stdin=subprocess.DEVNULL,
                    stdout=out if out is not None else subprocess.DEVNULL,
                    stderr=subprocess.STDOUT,
                )
        finally:
            # The child holds the socket now; once it exits, connecting is refused at once.
            listener.close()
        return cls(f"http://127.0.0.1:{port}/{token}", process)

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    def ready(self, timeout: float = REQUEST_TIMEOUT) -> dict[str, Any]:
        """Wait until fmeval is imported in the process; returns what it says about itself."""
        with urllib.request.urlopen(self.url + "/ready", timeout=timeout) as response:
            return dict(json.loads(response.read()))

    def stop(self) -> None:
        """End the process and wait for it."""
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @contextlib.contextmanager
    def exported(self, environ: os._Environ[str] | dict[str, str] = os.environ) -> Iterator[None]:
        """Point kernels started inside the block at this process."""
        previous = environ.get(ENV_VAR)
        environ[ENV_VAR] = self.url
        try:
            yield
        finally:
            if previous is None:
                environ.pop(ENV_VAR, None)
            else:
                environ[ENV_VAR] = previous


# -- the process itself --------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def _reply(self, status: int, payload: Mapping[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> str | None:
        prefix = f"/{self.server.token}/"
        return self.path[len(prefix) :] if self.path.startswith(prefix) else None

    def do_GET(self) -> None:
        if self._route() != "ready":
            self._reply(404, {"error": "not found"})
            return
        self.server.warm.wait()
        if self.server.warm_error:
            self._reply(503, {"error": self.server.warm_error})
            return
        self._reply(200, {"pid": os.getpid(), "warm_seconds": self.server.warm_seconds})

    def do_POST(self) -> None:
        if self._route() != "score":
            self._reply(404, {"error": "not found"})
            return
        try:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            pairs = [(str(o), str(r)) for o, r in request["pairs"]]
            columns = [str(c) for c in request["columns"]]
            self.server.warm.wait()
            if self.server.warm_error:
                # The kernel scores in its own process and meets the same problem there,
                # with the workshop's own message about it.
                self._reply(503, {"error": self.server.warm_error})
                return
            rows = evaluation.score_pairs(pairs, columns)
        except Exception as exc:  # reported to the kernel, which raises it
            self._reply(500, {"error": f"{type(exc).__name__}: {exc}"})
            return
        self._reply(200, {"rows": rows})


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, listener: socket.socket, token: str) -> None:
        super().__init__(listener.getsockname(), _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener
        self.token = token
        self.warm = threading.Event()
        self.warm_seconds = 0.0
        self.warm_error: str | None = None


def _warm(server: _Server) -> None:
    """Build fmeval's pipeline and score once, so WordNet is loaded before the first kernel asks."""
    started = time.monotonic()
    try:
        evaluation.score_pairs([("a cat sat on the mat", "the cat is on a mat")], ["meteor"])
    except Exception as exc:  # e.g. missing offline assets: every request is told
        server.warm_error = f"{type(exc).__name__}: {exc}"
        log.error("The scoring process cannot score: %s", server.warm_error)
    server.warm_seconds = round(time.monotonic() - started, 2)
    server.warm.set()


def _watch_parent(server: _Server, parent: int) -> None:
    """Shut down when the process that started us is gone."""
    while os.getppid() == parent:
        time.sleep(1.0)
    server.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve scoring requests on an inherited socket until the parent exits."""
    parser = argparse.ArgumentParser(prog="python -m runner.scorer")
    parser.add_argument("--fd", type=int, required=True, help="listening socket to serve")
    parser.add_argument("--token", required=True, help="path prefix a request must carry")
    parser.add_argument("--parent", type=int, help="exit when this process is gone")
    args = parser.parse_args(argv)
    server = _Server(socket.socket(fileno=args.fd), args.token)
    threading.Thread(target=_warm, args=(server,), daemon=True).start()
    if args.parent:
        threading.Thread(target=_watch_parent, args=(server, args.parent), daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(poll_interval=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
