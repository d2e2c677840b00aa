"""Values derived once per live object, for objects that are costly to hash (a whole RuleSet).

The hot paths (every response, every decision-log row) need a few things derived from a decision's
rule set: which facts are personal, the static parts of the decision's JSON. A frozen dataclass's hash
covers every field, so ``functools.lru_cache`` would hash the whole rule set on every call; this cache
keys by identity instead and drops an entry when its object is garbage collected (a reloaded rule set
is a new object), so an identity can never be confused with a later object's.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class PerObject(Generic[K, V]):
    """``cache(obj)`` is ``compute(obj)``, computed once while ``obj`` lives (thread-safe: a race only
    computes the same value twice)."""

    def __init__(self, compute: Callable[[K], V]) -> None:
        self._compute = compute
        self._values: dict[int, V] = {}

    def __call__(self, obj: K) -> V:
        key = id(obj)
        try:
            return self._values[key]
        except KeyError:
            pass
        value = self._compute(obj)
        if key not in self._values:
            self._values[key] = value
            weakref.finalize(obj, self._values.pop, key, None)
        return value

    def __len__(self) -> int:
        return len(self._values)
