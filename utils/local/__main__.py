"""``python -m utils.local``: run the local stand-in until Ctrl-C and print the shell exports."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading

from utils import clients, paths
from utils.local import StandIn


def main(argv: list[str] | None = None) -> int:
    """Start the stand-in, record its endpoint for notebooks, and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m utils.local", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("WORKSHOP_PORT", 0)))
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument(
        "--job-seconds", type=float, default=None, help="simulated duration of a job"
    )
    parser.add_argument(
        "--lab", action="store_true", help="also start JupyterLab wired to the stand-in"
    )
    args = parser.parse_args(argv)

    # This process talks only to itself; a profile the user set for AWS must not leak in.
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(var, None)
    standin = StandIn.start(port=args.port, job_seconds=args.job_seconds, region=args.region)
    record = clients.standin_file()
    os.makedirs(os.path.dirname(record), exist_ok=True)
    with open(record, "w", encoding="utf-8") as fh:
        json.dump({"pid": os.getpid(), "env": standin.env}, fh, indent=2)

    print("# Local stand-in for AWS (S3, IAM, STS, Bedrock) is running.")
    print("# Paste these lines into a shell, or use `make lab`:")
    for key, value in standin.env.items():
        print(f"export {key}={value}")
    print("# Press Ctrl-C to stop it.", flush=True)

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        if args.lab:
            env = dict(os.environ)
            standin.apply_env(env)
            # Kernels inherit JupyterLab's environment, so every notebook reaches the stand-in.
            lab = subprocess.Popen(
                [sys.executable, "-m", "jupyterlab", f"--notebook-dir={paths.ROOT}"], env=env
            )
            lab.wait()
        else:
            stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
