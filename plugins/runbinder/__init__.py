"""runbinder: incident runbooks as data, validated, linked and printable."""

from __future__ import annotations

__version__ = "0.1.0"
