"""``python -m app``: the ``maml`` command line (:mod:`app.cli`)."""

import sys

from app.cli import main

sys.exit(main())
