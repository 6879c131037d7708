"""``python -m mowsim.cli``: the same as the ``mowsim`` command."""

import sys

from mowsim.cli import main

sys.exit(main())
