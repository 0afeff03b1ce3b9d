"""`python -m notifier`: the same entry point as the `notifier` console script."""

import sys

from notifier.cli import main

sys.exit(main())
