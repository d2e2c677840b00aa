"""``python -m engine.cli``: the ``flets-elig`` command where its script is not on the PATH."""

import sys

from . import main

sys.exit(main())
