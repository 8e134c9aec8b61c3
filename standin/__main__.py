"""``python -m standin``: serve the local stand-in until Ctrl-C and print the shell exports.

``python -m standin -- CMD ...`` runs CMD with the stand-in's environment instead, and stops
the stand-in when CMD ends.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from standin import DEFAULT_REGION, StandIn


def terminator(
    stopped: threading.Event, children: list[subprocess.Popen[bytes]]
) -> Callable[..., None]:
    """The SIGTERM handler: stop the wait and the command (JupyterLab), once."""

    def terminate(*_: object) -> None:
        # make passes a SIGTERM on to this process and a signal to the group arrives too: a
        # second one inside stopped.set() re-entered it and deadlocked on the Event's lock
        # (seen with gdb, 2026-12-03). Later SIGTERMs are ignored before anything else.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stopped.set()
        for child in children:
            if child.poll() is None:
                child.terminate()

    return terminate


def main(argv: list[str] | None = None) -> int:
    """Start the stand-in, optionally record its endpoint, and serve until interrupted."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, command = argv[:at], argv[at + 1 :]
    parser = argparse.ArgumentParser(prog="python -m standin", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("WORKSHOP_PORT", 0)))
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--job-seconds", type=float, default=None, help="simulated job duration")
    parser.add_argument(
        "--record", type=Path, default=None, help="write the endpoint and exports to this file"
    )
    args = parser.parse_args(argv)

    # This process talks only to itself; a profile the user set for AWS must not leak in.
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(var, None)
    standin = StandIn.start(port=args.port, job_seconds=args.job_seconds, region=args.region)
    if args.record is not None:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(
            json.dumps({"pid": os.getpid(), "env": standin.env}, indent=2), encoding="utf-8"
        )

    print("# Local stand-in for AWS (S3, IAM, STS, Bedrock) is running.")
    print("# Paste these lines into a shell:")
    for key, value in standin.env.items():
        print(f"export {key}={value}")
    print("# Press Ctrl-C to stop it.", flush=True)

    stopped = threading.Event()
    children: list[subprocess.Popen[bytes]] = []

    signal.signal(signal.SIGTERM, terminator(stopped, children))
    code = 0
    try:
        if command:
            env = dict(os.environ)
            standin.apply_env(env)
            # Children inherit this environment, so every client they start reaches the stand-in.
            children.append(subprocess.Popen(command, env=env))
            code = children[0].wait()
        else:
            stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
        if args.record is not None:
            with contextlib.suppress(FileNotFoundError):
                args.record.unlink()
    return code


if __name__ == "__main__":
    sys.exit(main())
