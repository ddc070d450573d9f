"""``python -m toptui`` is the same as the ``toptui`` command."""

import sys

from toptui.commands.cli import main

sys.exit(main())
