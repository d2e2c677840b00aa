"""The computation kinds keep their contracts: every name a kind reads is declared, every kind is
registered, and texts that quote a figure follow the tariff file."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import engine.tariff.kinds as kinds
from engine.tariff import TariffBook, load_tariffs, run_examples
from engine.tariff.kinds import KINDS, MODULES, declared_in
from engine.tariff.kinds.contract import ItemContext, KindSpec

#: ItemContext methods whose first argument is a figure slot.
SLOT_READERS = frozenset({"figure", "yen", "count", "number", "bands", "label", "cite", "line"})


def _kind_modules() -> list[ModuleType]:
    """Every module of the package, listed in the registry or not."""
    return [
        importlib.import_module(f"{kinds.__name__}.{info.name}")
        for info in pkgutil.iter_modules(kinds.__path__)
    ]


def test_every_declared_kind_is_registered_once() -> None:
    """A module left out of ``MODULES`` would leave its kinds unknown to every tariff file."""
    declared = [spec for module in _kind_modules() for spec in declared_in(module)]
    assert sorted(spec.name for spec in declared) == sorted(KINDS)
    assert {module.__name__ for module in _kind_modules() if declared_in(module)} == {
        module.__name__ for module in MODULES
    }


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_says_what_it_computes(name: str) -> None:
    assert KINDS[name].doc


class _Reads:
    """What one function reads from ``ctx`` (literal names only) and the functions it calls."""

    def __init__(self, function: ast.FunctionDef) -> None:
        self.params: set[str] = set()
        self.slots: set[str] = set()
        self.calls: set[str] = set()
        self.unnamed_params: list[int] = []
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Name):
                self.calls.add(node.func.id)
            elif isinstance(node.func, ast.Attribute) and _is_ctx(node.func.value):
                name = _literal(node.args[0]) if node.args else None
                if node.func.attr == "param":
                    if name is None:
                        self.unnamed_params.append(node.lineno)
                    else:
                        self.params.add(name)
                elif node.func.attr in SLOT_READERS and name is not None:
                    self.slots.add(name)


def _is_ctx(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "ctx"


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _functions(module: ModuleType) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _reachable(module: ModuleType, start: str) -> Iterator[tuple[str, _Reads]]:
    """``start`` and every kinds-package function it calls, directly or not."""
    seen: set[tuple[str, str]] = set()
    todo = [(module, start)]
    while todo:
        where, name = todo.pop()
        if (where.__name__, name) in seen:
            continue
        seen.add((where.__name__, name))
        reads = _Reads(_functions(where)[name])
        yield f"{where.__name__}.{name}", reads
        for called in reads.calls:
            target = vars(where).get(called)
            home = getattr(target, "__module__", "")
            if inspect.isfunction(target) and home.startswith("engine.tariff.kinds."):
                todo.append((importlib.import_module(home), target.__name__))


@pytest.mark.parametrize("name", list(KINDS))
def test_a_kind_reads_exactly_the_params_it_declares(name: str) -> None:
    """``ctx.param`` returns Any, so a misspelt name would only show as a None at run time."""
    spec = KINDS[name]
    module = importlib.import_module(spec.compute.__module__)
    params: set[str] = set()
    slots: set[str] = set()
    for where, reads in _reachable(module, spec.compute.__name__):
        assert not reads.unnamed_params, f"{where}: ctx.param needs a literal name"
        params |= reads.params
        slots |= reads.slots
    assert params == set(spec.params)
    assert slots <= set(spec.figures)


def test_every_context_argument_is_called_ctx() -> None:
    """The name check above finds ``ctx.param(...)`` by the variable's name."""
    for module in _kind_modules():
        for function in _functions(module).values():
            for arg in function.args.args:
                if isinstance(arg.annotation, ast.Name) and arg.annotation.id == "ItemContext":
                    assert arg.arg == "ctx", f"{module.__name__}.{function.name}"


def test_examples_read_only_declared_names(
    book: TariffBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At run time too, with slot names the code computes (``out_of_hours_slot`` …)."""

    def spec(ctx: ItemContext) -> KindSpec:
        return KINDS[ctx.item.kind]

    def checked(
        method: Callable[..., Any], declared: Callable[[KindSpec], Mapping[str, object]]
    ) -> Any:
        def read(ctx: ItemContext, name: str, *args: Any, **kwargs: Any) -> Any:
            assert name in declared(spec(ctx)), f"{ctx.item.kind} reads undeclared {name!r}"
            return method(ctx, name, *args, **kwargs)

        return read

    monkeypatch.setattr(ItemContext, "param", checked(ItemContext.param, lambda s: s.params))
    for reader in SLOT_READERS:
        method = getattr(ItemContext, reader)
        monkeypatch.setattr(ItemContext, reader, checked(method, lambda s: s.figures))
    assert run_examples(book) == []


def _quote_reason(book: TariffBook, item: str, params: Mapping[str, object]) -> dict[str, str]:
    quote = book.quote(
        {
            "as_of": "2025-04-01",
            "items": [{"tariff": "tv_transport", "item": item, "params": params}],
        }
    )
    reason: dict[str, str] = quote["lines"][0]["reason"]
    return reason


LATE = {"amount": 10000, "due_date": "2025-01-31", "paid_on": "2025-02-18"}
ABOLISHED = {"exclusive_use_from": "2020-04-01", "abolished_on": "2022-06-01"}


def test_the_grace_period_text_quotes_the_figure(
    book: TariffBook, tariff_copy: Callable[[str, str, str], Path]
) -> None:
    bundled = _quote_reason(book, "late_interest", {**LATE, "paid_on": "2025-02-03"})
    assert bundled == {
        "ja": "支払期日の翌日から起算して15日以内（3日目）の支払いです（第25条ただし書）",
        "en": "Paid on day 3 after the due date, within 15 days: no interest",
    }
    longer = load_tariffs(
        tariff_copy("tv_transport.yaml", "unit: days\n    value: 15", "unit: days\n    value: 20")
    )
    assert _quote_reason(longer, "late_interest", LATE) == {
        "ja": "支払期日の翌日から起算して20日以内（18日目）の支払いです（第25条ただし書）",
        "en": "Paid on day 18 after the due date, within 20 days: no interest",
    }


def test_the_minimum_period_text_quotes_the_figure(
    book: TariffBook, tariff_copy: Callable[[str, str, str], Path]
) -> None:
    assert _quote_reason(book, "bulk_plan_early_abolition", ABOLISHED) == {
        "ja": "基本適用期間（2年間）の経過後の廃止です",
        "en": "Abolished after the two-year minimum period",
    }
    folder = tariff_copy(
        "tv_transport.yaml", "unit: years\n    value: 2", "unit: years\n    value: 1"
    )
    assert _quote_reason(load_tariffs(folder), "bulk_plan_early_abolition", ABOLISHED) == {
        "ja": "基本適用期間（1年間）の経過後の廃止です",
        "en": "Abolished after the one-year minimum period",
    }


def test_money_is_read_as_yen_and_other_whole_figures_as_counts(
    book: TariffBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ctx.yen`` reads a price; days, years, units and multiples are read with ``ctx.count``."""
    read: dict[str, set[str]] = {"yen": set(), "count": set()}

    def checked(method: Callable[[ItemContext, str], int], money: bool) -> Any:
        def figure(ctx: ItemContext, slot: str) -> int:
            unit = ctx.tariff.figures[ctx.item.figures[slot]].unit
            assert unit.startswith("yen") == money, f"{ctx.item.kind}: {slot} is in {unit!r}"
            read[method.__name__].add(f"{ctx.item.kind}.{slot}")
            return method(ctx, slot)

        return figure

    monkeypatch.setattr(ItemContext, "yen", checked(ItemContext.yen, money=True))
    monkeypatch.setattr(ItemContext, "count", checked(ItemContext.count, money=False))
    assert run_examples(book) == []
    assert {
        "late_interest.grace_days",
        "evasion_surcharge.multiple",
        "bulk_plan_monthly.min_units",
        "early_abolition.minimum_years",
    } <= read["count"]
