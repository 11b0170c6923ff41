"""``python -m klein_widget.emulator``: the same as ``python -m klein_widget emulator``."""

import sys

from klein_widget.emulator.cli import main

sys.exit(main())
