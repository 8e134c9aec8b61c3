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
from pathlib import Path

from standin import DEFAULT_REGION, StandIn


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

    def terminate(*_: object) -> None:
        # A SIGTERM stops the command too (JupyterLab), not only the wait for it.
        stopped.set()
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, terminate)
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
