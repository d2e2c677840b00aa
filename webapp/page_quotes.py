"""Which decisions on the sales page come with a price, and the quote request that prices them.

Only a positive answer is priced (a refused order has no price). A rule set without an entry shows no
quote. The quote is the tariff engine's own, with its citations; nothing is priced here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from engine import Decision, EngineError
from engine.messages.language import Lang
from engine.rules.model import OutcomeKind

from .state import loaded_tariffs

log = logging.getLogger(__name__)

QuoteItems = Callable[[Decision], list[dict[str, Any]]]


def _tv_monthly_fee(decision: Decision) -> list[dict[str, Any]]:
    """An accepted TV transport application: one full month of the usage fee (規約 第21条)."""
    month = decision.as_of.strftime("%Y-%m")
    return [{"tariff": "tv_transport", "item": "monthly_fee", "params": {"month": month}}]


QUOTES: dict[str, QuoteItems] = {"tv_application": _tv_monthly_fee}


def quote_for_decision(decision: Decision, lang: Lang) -> dict[str, Any] | None:
    """The quote to show next to ``decision``, or ``None`` when no price applies or none can be made."""
    items = QUOTES.get(decision.ruleset.id)
    book = loaded_tariffs()
    if items is None or book is None or decision.kind is not OutcomeKind.POSITIVE:
        return None
    try:
        quote: dict[str, Any] = book.quote({"items": items(decision)}, decision.as_of)
    except EngineError:
        log.warning("page quote failed", exc_info=True)
        return None
    return quote
