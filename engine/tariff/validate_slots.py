"""``time_slots:`` of a figure: the times of day (and days of the year) a rate applies in.

料金表 第2表 1(4) ties each out-of-hours multiplier to a time slot (17:00–22:00, from 08:30 on 29
December to 3 January; 22:00–08:30). Those hours are tariff data, written next to the multiplier they
select, so a quote from a start date and time derives the slot from the file, not from Python.
"""

from __future__ import annotations

import re
from datetime import time

from ..errors import SourceLocation
from ..format.checker import Checker
from ..format.loader import MarkedDict
from .model import TimeSlot

SLOT_KEYS = ("id", "from", "to", "days", "label")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_MONTH_DAY = re.compile(r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def read_time_slots(checker: Checker, node: MarkedDict, path: str) -> tuple[TimeSlot, ...]:
    """``time_slots: [{id, from: "HH:MM", to: "HH:MM", days?: {from: "MM-DD", to: "MM-DD"}, label}]``."""
    if "time_slots" not in node:
        return ()
    rows = checker.required(node, "time_slots", f"{path}.time_slots", checker.sequence)
    found: list[TimeSlot] = []
    seen: set[str] = set()
    for index, row in enumerate(rows or []):
        row_path = f"{path}.time_slots[{index}]"
        entry = checker.mapping(row, rows.where(index) if rows else node.location, row_path)
        if entry is None:
            continue
        checker.unknown_keys(entry, SLOT_KEYS, row_path)
        slot_id = checker.required(entry, "id", f"{row_path}.id", checker.identifier)
        start = checker.required(entry, "from", f"{row_path}.from", _clock, checker)
        end = checker.required(entry, "to", f"{row_path}.to", _clock, checker)
        label = checker.required(entry, "label", f"{row_path}.label", checker.text)
        days_ok, days = _days(checker, entry, row_path)
        if slot_id is not None and slot_id in seen:
            checker.error(
                "duplicate-id",
                f"time slot {slot_id!r} is listed twice",
                entry.where("id"),
                row_path,
            )
        if slot_id is not None:
            seen.add(slot_id)
        if start is not None and end is not None and start == end:
            checker.error(
                "bad-value", "'from' and 'to' are the same time", entry.where("to"), row_path
            )
        if slot_id is None or start is None or end is None or label is None or not days_ok:
            continue
        found.append(TimeSlot(slot_id, start, end, days, label))
    if rows is not None and not rows:
        checker.error("empty-table", "list at least one time slot", node.where("time_slots"), path)
    return tuple(found)


def _clock(value: object, where: SourceLocation, path: str, checker: Checker) -> time | None:
    """``"HH:MM"`` in quotes: unquoted, YAML 1.1 reads ``17:00`` as the number 1020."""
    match = _CLOCK.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        hint = " (write it in quotes)" if isinstance(value, int) else ""
        checker.error("wrong-type", f'expected a time "HH:MM"{hint}, got {value!r}', where, path)
        return None
    return time(int(match.group(1)), int(match.group(2)))


def _days(
    checker: Checker, entry: MarkedDict, path: str
) -> tuple[bool, tuple[tuple[int, int], tuple[int, int]] | None]:
    """The optional ``days: {from: "MM-DD", to: "MM-DD"}``: (whether it is sound, the days or None)."""
    if entry.get("days") is None:
        return True, None
    node = checker.mapping(entry["days"], entry.where("days"), f"{path}.days")
    if node is None:
        return False, None
    checker.unknown_keys(node, ("from", "to"), f"{path}.days")
    first = checker.required(node, "from", f"{path}.days.from", _month_day, checker)
    last = checker.required(node, "to", f"{path}.days.to", _month_day, checker)
    if first is None or last is None:
        return False, None
    return True, (first, last)


def _month_day(
    value: object, where: SourceLocation, path: str, checker: Checker
) -> tuple[int, int] | None:
    match = _MONTH_DAY.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match.group(2)) > _DAYS_IN_MONTH[int(match.group(1)) - 1]:
        checker.error(
            "wrong-type", f'expected a day of the year "MM-DD", got {value!r}', where, path
        )
        return None
    return int(match.group(1)), int(match.group(2))
