"""``python -m runbinder``: the same as the ``runbinder`` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
