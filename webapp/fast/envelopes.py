"""The envelopes of the two decision calls read without marshmallow, for the plain ones nearly every
request sends.

``EVALUATE_REQUEST.load`` takes about 23 µs for a six-fact envelope, the readers below under 1 µs
(measured on the shared 2-core host). They answer what ``load`` would return for a plain ``{"facts":
{...}, "as_of"?: "YYYY-MM-DD"}`` or ``{"items": [...], "as_of"?}``, and ``None`` for anything else,
which then goes through the schema and gets its messages (the contract of :mod:`webapp.fast`). The
keys they accept are the schemas' declared fields, but for a partial answer's ``unknown``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..schemas import BATCH_REQUEST, EVALUATE_REQUEST, PARTIAL_FIELDS

# A partial answer's fields (``unknown``) make an envelope that is not plain: the schema reads it.
_EVALUATE_KEYS = frozenset(EVALUATE_REQUEST.fields) - PARTIAL_FIELDS
_BATCH_KEYS = frozenset(BATCH_REQUEST.fields)


def _day(data: dict[str, Any]) -> tuple[bool, date | None]:
    """``as_of`` as the schemas' ``fields.Date(load_default=None)`` loads it (absent or null: None; a
    string: ``date.fromisoformat``), or ``(False, None)`` when it is something the schema must judge."""
    raw = data.get("as_of")
    if raw is None:
        return True, None
    if type(raw) is not str:
        return False, None
    try:
        return True, date.fromisoformat(raw)
    except ValueError:
        return False, None


def quick_evaluate_request(data: Any) -> dict[str, Any] | None:
    """What ``EVALUATE_REQUEST.load(data)`` returns for a plain envelope, else ``None``."""
    if type(data) is not dict or not data.keys() <= _EVALUATE_KEYS:
        return None
    facts = data.get("facts")
    ok, day = _day(data)
    if type(facts) is not dict or not ok:
        return None
    return {"facts": facts, "as_of": day}


def quick_batch_request(data: Any) -> dict[str, Any] | None:
    """What ``BATCH_REQUEST.load(data)`` returns for a plain envelope, else ``None``."""
    if type(data) is not dict or not data.keys() <= _BATCH_KEYS:
        return None
    items = data.get("items")
    ok, day = _day(data)
    if type(items) is not list or not items or None in items or not ok:
        return None  # (a null item fails the whole envelope: fields.Raw does not allow None)
    return {"items": items, "as_of": day}


def is_plain_batch_item(item: Any) -> bool:
    """``{"facts": {...}}`` and nothing else: what ``BATCH_ITEM`` accepts unchanged (JSON object keys
    are always strings), so the schema only runs on the items that may be wrong."""
    return type(item) is dict and len(item) == 1 and type(item.get("facts")) is dict
