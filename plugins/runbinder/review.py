"""When a runbook's review is due: one definition for the page banner, the indexes and `runbinder check`."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

DEFAULT_REVIEW_INTERVAL = "90d"
_UNIT = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_day(text: str) -> date | None:
    """``YYYY-MM-DD`` or ``YYYY-MM`` (the first of the month) as a real date; None when it is no such day."""
    parts = text.split("-")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) == 3 else 1)
    except ValueError:
        return None


def interval(value: str) -> timedelta | None:
    """``15m``, ``12h``, ``90d`` or ``2w`` as a timedelta; None when it is not one or is too large to add to a date."""
    if len(value) < 2 or value[-1] not in _UNIT or not value[:-1].isdigit() or len(value) > 12:
        return None
    try:
        return int(value[:-1]) * _UNIT[value[-1]]
    except OverflowError:
        return None


def review_due(runbook: dict[str, Any], site: dict[str, Any] | None) -> date | None:
    """The date a runbook's next review is due, or None when it has never been (validly) reviewed.

    An interval too large for the calendar means the review is never due (``date.max``)."""
    last = runbook.get("last_reviewed")
    reviewed = parse_day(last) if isinstance(last, str) else None
    if reviewed is None:
        return None
    chosen = runbook.get("review_interval") or (site or {}).get("review_interval") or DEFAULT_REVIEW_INTERVAL
    delta = interval(str(chosen)) or interval(DEFAULT_REVIEW_INTERVAL)
    assert delta is not None
    try:
        return reviewed + timedelta(days=max(1, math.ceil(delta / timedelta(days=1))))
    except OverflowError:
        return date.max
