"""``python -m klein_widget ...``: the same as the ``klein`` command (`klein_widget.cli`)."""

import sys

from klein_widget.cli import main

if __name__ == "__main__":
    sys.exit(main())
