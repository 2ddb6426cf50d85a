"""``python -m trading.ibsim``: run the paper gateway without Django."""

import sys

from trading.ibsim.cli import main

sys.exit(main())
