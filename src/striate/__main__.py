"""``python -m striate`` is the ``striate`` command."""

import sys

from striate.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
