"""``python -m runner.lab [--lab]``: the stand-in, recorded where notebooks look for it.

With ``--lab`` it also starts JupyterLab, whose kernels inherit the stand-in's environment.
Other options go to ``python -m standin``.
"""

from __future__ import annotations

import sys

from standin import __main__ as standin_main
from utils import clients, paths


def main(argv: list[str] | None = None) -> int:
    """Serve the stand-in (and JupyterLab with ``--lab``) until interrupted."""
    args = list(sys.argv[1:] if argv is None else argv)
    lab = "--lab" in args
    args = [a for a in args if a != "--lab"]
    args += ["--record", str(clients.standin_file())]
    if lab:
        args += ["--", sys.executable, "-m", "jupyterlab", f"--notebook-dir={paths.ROOT}"]
    return standin_main.main(args)


if __name__ == "__main__":
    sys.exit(main())
