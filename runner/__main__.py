"""``python -m runner``: run the workshop notebooks headless (see :mod:`runner.run`)."""

import sys

from runner.run import main

sys.exit(main())
