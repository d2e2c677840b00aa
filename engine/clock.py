"""What "today" means for a decision: contracts are Japanese, so today is today in Tokyo."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")


def today_in_tokyo() -> date:
    """The default decision and quote date."""
    return datetime.now(TOKYO).date()
