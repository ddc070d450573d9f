"""``python -m toptui`` is the same as the ``toptui`` command."""

import sys

from toptui.cli import main

sys.exit(main())
