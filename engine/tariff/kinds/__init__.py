"""The computation kinds, by the name a tariff file selects them with (``items.<id>.kind``).

Each module declares its kinds with :func:`~.contract.kind`; this registry lists the modules. Their
order is the order the validator names the kinds in when a file asks for an unknown one.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType, ModuleType

from . import (
    common,
    joint,
    merchant,
    passport,
    tv_billing,
    tv_bulk,
    tv_construction,
    tv_penalties,
    tv_schedule,
)
from .contract import KindSpec

MODULES: tuple[ModuleType, ...] = (
    common,
    tv_billing,
    tv_construction,
    tv_penalties,
    tv_bulk,
    tv_schedule,
    joint,
    passport,
    merchant,
)


def declared_in(module: ModuleType) -> list[KindSpec]:
    """The kinds ``module`` declares, in the order it declares them (not those it imports)."""
    return [
        value
        for value in vars(module).values()
        if isinstance(value, KindSpec) and value.compute.__module__ == module.__name__
    ]


def _registry(modules: tuple[ModuleType, ...]) -> Mapping[str, KindSpec]:
    kinds: dict[str, KindSpec] = {}
    for module in modules:
        for spec in declared_in(module):
            if spec.name in kinds:
                raise ValueError(f"two computation kinds are named {spec.name!r}")
            kinds[spec.name] = spec
    return MappingProxyType(kinds)


KINDS: Mapping[str, KindSpec] = _registry(MODULES)
