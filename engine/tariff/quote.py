"""Quotes: a JSON request of items → priced lines, consumption tax and totals.

Tax follows the source exactly: figures are tax-excluded and tax is added with fractions below 1 yen
truncated (規約 料金表 通則5, 10); lines an item marks ``tax: sum`` are taxed once on their sum per tariff,
as the guide's sample statement does (5,650 + 565 = 6,215); a tax-included-only tariff (Flets Joint)
shows the tax its prices contain. A line that cannot be priced is listed with its gap and makes the quote
``complete: false`` — its amount is never counted as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..clock import today_in_tokyo
from ..messages import Code, Message
from ..messages.language import Text
from .kinds import KINDS
from .kinds.contract import FigureUnavailable, ItemContext, Line, ParamProblem, text
from .model import Figure, Item, Tariff, TaxRate
from .money import split_tax_included, tax_on
from .params import FieldErrors, parse_params

if TYPE_CHECKING:
    from .book import TariffBook

#: Most items one quote may price; a quote is a sales conversation, not a batch job.
MAX_ITEMS = 100

PROVENANCE_STRENGTH = {"sourced": 0, "outside_fact": 1, "inferred": 2}


@dataclass
class PricedItem:
    """One requested item with its computed lines."""

    index: int
    tariff: Tariff
    item: Item
    lines: list[Line]
    used: list[Figure]


def build_quote(book: TariffBook, request: Any, as_of: date | None) -> dict[str, Any]:
    """Price ``request``; raises :class:`~engine.tariff.book.QuoteRequestError` naming bad fields."""
    from .book import QuoteRequestError

    errors: FieldErrors = {}
    day = as_of or _request_date(request, errors) or today_in_tokyo()
    raw_items = _request_items(request, errors)
    rate = book.tax_rate(day)
    if rate is None:
        errors.setdefault("as_of", []).append(Message(Code.NO_TAX_RATE, day=day))
    priced = [
        result
        for index, raw in enumerate(raw_items)
        if (result := _price_item(book, index, raw, day, errors)) is not None
    ]
    if errors or rate is None:
        raise QuoteRequestError(errors)
    return _render(priced, day, rate)


def _request_date(request: Any, errors: FieldErrors) -> date | None:
    if not isinstance(request, Mapping) or request.get("as_of") is None:
        return None
    value = request["as_of"]
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors.setdefault("as_of", []).append(Message(Code.PARAM_NOT_A_DATE))
    return None


def _request_items(request: Any, errors: FieldErrors) -> list[Any]:
    if not isinstance(request, Mapping):
        errors.setdefault("_schema", []).append(Message(Code.QUOTE_NOT_AN_OBJECT))
        return []
    for key in request:
        if key not in ("items", "as_of"):
            errors.setdefault(str(key), []).append(Message(Code.UNKNOWN_FIELD))
    items = request.get("items")
    if not isinstance(items, list) or not items:
        errors.setdefault("items", []).append(Message(Code.QUOTE_NO_ITEMS))
        return []
    if len(items) > MAX_ITEMS:
        errors.setdefault("items", []).append(Message(Code.QUOTE_TOO_MANY_ITEMS, max=MAX_ITEMS))
        return []
    return items


def _price_item(
    book: TariffBook, index: int, raw: Any, day: date, errors: FieldErrors
) -> PricedItem | None:
    prefix = f"items.{index}"
    if not isinstance(raw, Mapping):
        errors.setdefault(prefix, []).append(Message(Code.QUOTE_ITEM_NOT_AN_OBJECT))
        return None
    for key in raw:
        if key not in ("tariff", "item", "params"):
            errors.setdefault(f"{prefix}.{key}", []).append(Message(Code.UNKNOWN_FIELD))
    found = _find_item(book, raw, prefix, day, errors)
    if found is None:
        return None
    tariff, item = found
    params = parse_params(item.params, raw.get("params"), f"{prefix}.params", errors)
    if any(key.startswith(f"{prefix}.") or key == prefix for key in errors):
        return None
    if not tariff.in_force(day):
        return PricedItem(index, tariff, item, [_earlier_line(tariff, item)], [])
    context = ItemContext(tariff, item, params, day)
    try:
        lines = KINDS[item.kind].compute(context)
    except ParamProblem as problem:
        errors.setdefault(f"{prefix}.params.{problem.field}", []).append(problem.message)
        return None
    except FigureUnavailable as missing:
        context.used.pop(missing.figure.id, None)
        lines = [Line(item.title, status="cannot_be_priced", amount=None, gap=missing.gap)]
        lines[0].detail["figure"] = missing.figure.id
    return PricedItem(index, tariff, item, lines, list(context.used.values()))


def _earlier(versions: list[Tariff], day: date) -> Tariff | None:
    """The first version after ``day`` whose ``earlier_period`` holds it: the service existed then, at
    prices the sources do not give (the quote says so, it is no request error)."""
    later = [t for t in versions if t.effective_from > day]
    if not later:
        return None
    first = min(later, key=lambda t: t.effective_from)
    period = first.earlier_period
    return first if period is not None and period.covers(day, first.effective_from) else None


def _earlier_line(tariff: Tariff, item: Item) -> Line:
    period = tariff.earlier_period
    assert period is not None, "only a version whose earlier period holds the day gets here"
    line = Line(item.title, status="cannot_be_priced", amount=None, gap=period.gap)
    line.cite = (period.cite,)
    line.detail["priced_from"] = tariff.effective_from.isoformat()
    return line


def _find_item(
    book: TariffBook, raw: Mapping[str, Any], prefix: str, day: date, errors: FieldErrors
) -> tuple[Tariff, Item] | None:
    tariff_id, item_id = raw.get("tariff"), raw.get("item")
    if not isinstance(tariff_id, str):
        errors.setdefault(f"{prefix}.tariff", []).append(Message(Code.REQUIRED))
        return None
    versions = book.versions(tariff_id)
    if not versions:
        known = ", ".join(book.ids())
        errors.setdefault(f"{prefix}.tariff", []).append(
            Message(Code.QUOTE_UNKNOWN_TARIFF, known=known)
        )
        return None
    tariff = next((t for t in versions if t.in_force(day)), None) or _earlier(versions, day)
    if tariff is None:
        errors.setdefault(f"{prefix}.tariff", []).append(
            Message(Code.QUOTE_TARIFF_NOT_IN_FORCE, tariff=tariff_id, day=day)
        )
        return None
    if not isinstance(item_id, str) or item_id not in tariff.items:
        code = Code.QUOTE_ITEM_REQUIRED if item_id is None else Code.QUOTE_UNKNOWN_ITEM
        errors.setdefault(f"{prefix}.item", []).append(Message(code, known=", ".join(tariff.items)))
        return None
    return tariff, tariff.items[item_id]


def _render(priced: list[PricedItem], day: date, rate: TaxRate) -> dict[str, Any]:
    lines: list[dict[str, Any]] = []
    sums: dict[str, int] = {}
    for entry in priced:
        for line in entry.lines:
            rendered = _render_line(entry, line, rate.rate)
            rendered["line"] = len(lines) + 1
            if rendered["tax_basis"] == "sum" and rendered["tax"] is None:
                sums[entry.tariff.id] = sums.get(entry.tariff.id, 0) + rendered["amount"]
            lines.append(rendered)
    groups = [
        {
            "tariff": tariff_id,
            "rate": str(rate.rate),
            "taxable_amount": base,
            "tax": tax_on(base, rate.rate),
        }
        for tariff_id, base in sums.items()
    ]
    return {"as_of": day.isoformat(), "lines": lines, "totals": _totals(lines, groups, rate)}


def _totals(
    lines: list[dict[str, Any]], groups: list[dict[str, Any]], rate: TaxRate
) -> dict[str, Any]:
    counted = [line for line in lines if line["amount"] is not None]
    excluded = sum(line["amount"] for line in counted)
    tax = sum(line["tax"] or 0 for line in counted) + sum(group["tax"] for group in groups)
    open_lines = [
        line["line"] for line in lines if line["status"] in ("cannot_be_priced", "refused")
    ]
    return {
        "amount_tax_excluded": excluded,
        "tax": tax,
        "amount_tax_included": excluded + tax,
        "tax_rate": str(rate.rate),
        "tax_rate_provenance": rate.provenance,
        "tax_groups": groups,
        "complete": not open_lines,
        "lines_not_priced": open_lines,
    }


def _render_line(entry: PricedItem, line: Line, rate: Decimal) -> dict[str, Any]:
    basis = entry.item.tax if line.taxable else "none"
    amount, tax, included = _taxed(entry.tariff, line, basis, rate)
    if line.status != "priced":
        basis = "none"
    rendered: dict[str, Any] = {
        "line": 0,
        "request_index": entry.index,
        "tariff": entry.tariff.id,
        "tariff_version": entry.tariff.version,
        "item": entry.item.id,
        "status": line.status,
        "description": line.description.to_dict(),
        "quantity": line.quantity if isinstance(line.quantity, int) else str(line.quantity),
        "unit_price": line.unit_price,
        "amount": amount,
        "tax": tax,
        "amount_tax_included": included,
        "tax_basis": basis,
        "detail": line.detail,
        "cite": [c.to_dict() for c in (*line.cite, *entry.item.cite)],
        "provenance": _weakest(entry.used) if line.amount is not None else None,
        "warnings": _warnings(entry, line),
        "readings": [_reading(entry.tariff, rid) for rid in entry.item.readings],
        "notes": [note.to_dict() for note in entry.item.notes],
    }
    if line.reason is not None:
        rendered["reason"] = line.reason.to_dict()
    if line.gap is not None:
        rendered["gap"] = line.gap.to_dict()
        rendered["message"] = _CANNOT_PRICE.to_dict()
    return rendered


_CANNOT_PRICE = text("資料からは料金を算定できません", "Cannot be priced from the sources")


def _taxed(
    tariff: Tariff, line: Line, basis: str, rate: Decimal
) -> tuple[int | None, int | None, int | None]:
    """(tax-excluded amount, tax, tax-included amount) of a line; tax is None when taxed on a sum."""
    if line.amount is None or line.status != "priced":
        return line.amount, None if line.amount is None else 0, line.amount
    if tariff.price_basis == "tax_included" and basis != "none":
        excluded, tax = split_tax_included(line.amount, rate)
        return excluded, tax, line.amount
    if basis == "line":
        tax = tax_on(line.amount, rate)
        return line.amount, tax, line.amount + tax
    if basis == "sum":  # taxed once on the group's sum in _render
        return line.amount, None, None
    return line.amount, 0, line.amount


def _weakest(used: list[Figure]) -> str:
    """The weakest provenance of the figures a line's amount used; a line with no amount has none
    (``null``): "sourced" on a line that cannot be priced would say the sources gave a price."""
    if not used:
        return "sourced"
    return max((f.provenance for f in used), key=lambda p: PROVENANCE_STRENGTH[p])


def _warnings(entry: PricedItem, line: Line) -> list[dict[str, Any]]:
    result = [{"code": code, "message": message.to_dict()} for code, message in line.warnings]
    for figure in entry.used:
        if figure.provenance != "sourced":
            result.append(
                {
                    "code": f"figure_{figure.provenance}",
                    "figure": figure.id,
                    "message": _unsourced_message(figure).to_dict(),
                }
            )
    if entry.tariff.price_basis == "tax_included" and line.status == "priced":
        result.append(
            {
                "code": "tax_excluded_derived",
                "message": text(
                    "資料は税込額のみを示しています。税抜額と消費税額は税込額から逆算した値です",
                    "The source gives tax-included prices only; the tax-excluded amount and tax "
                    "are derived from them",
                ).to_dict(),
            }
        )
    return result


def _unsourced_message(figure: Figure) -> Text:
    kind = {
        "outside_fact": ("資料外の情報", "an outside fact, not in the sources"),
        "inferred": ("推定値", "an inference, not in the sources"),
    }[figure.provenance]
    note = figure.note
    return Text(
        ja=f"{figure.label.ja}は{kind[0]}です" + (f"（{note.ja}）" if note else ""),
        en=f"{figure.label.en} is {kind[1]}" + (f" ({note.en})" if note else ""),
    )


def _reading(tariff: Tariff, reading_id: str) -> dict[str, Any]:
    reading = tariff.readings[reading_id]
    return {"id": reading.id, "chosen": reading.chosen.to_dict(), "other": reading.other.to_dict()}
