"""Decision-table plans kept between processes: their identity, their stored form, and the store.

Building a rule set's plan (:mod:`.table`) asks durable_rules tens of thousands of questions and is
most of a server's start (measured: about 5 of the 6.5 s of loading the bundled rules). The answers
depend only on what the rules compare and on the engine that answers, so a plan built once can serve
every worker of a machine and every later start until one of those changes.

* :func:`plan_identity` is that dependency as a digest: the rules' conditions and the fact specs as
  canonical JSON (no file positions, no labels), the durable_rules version, and the source of the
  modules whose code decides the answers. A changed condition, a new durable_rules or an edited
  compiler gives another identity; a moved line or a reworded label gives the same.
* :func:`encode_groups` / :func:`decode_groups` are the stored form: plain JSON of integers and fact
  names (never pickle), checked field by field when read.
* A :class:`PlanStore` keeps stored forms by identity. The core defines only the protocol; the
  composition root installs one (:func:`use_plan_store`, a folder with file locks in
  :mod:`engine.lifecycle.plan_cache`). A plan read from a store is spot-checked against the engine
  before it is used (:mod:`.table`), so a damaged file costs a rebuild, never a wrong answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import date
from enum import Enum
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from ..errors import SourceLocation
from .model import AllOf, AnyOf, Compare, Condition, FactRef, FactSpec, NotOf, RuleSet

#: Version of the stored form; bump when :func:`encode_groups` changes.
FORMAT = 1
#: The modules whose code decides a plan's answers (the table's classes and probes, the compiler's
#: durable_rules definitions, the runtime's reading of what fired, the fact domains).
_DECIDING_MODULES = (
    "compiler.py",
    "domain.py",
    "runtime.py",
    "table.py",
    "lookup.py",
    "plans.py",
    "model.py",
)


def _code_digest() -> str:
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in _DECIDING_MODULES:
        digest.update(name.encode())
        digest.update((here / name).read_bytes())
    try:
        digest.update(metadata.version("durable-rules").encode())
    except metadata.PackageNotFoundError:  # pragma: no cover — a source tree without metadata
        digest.update(b"durable-rules:unknown")
    return digest.hexdigest()


#: Computed once per process: the engine's code does not change under a running server.
ENGINE_DIGEST = _code_digest()


def _operand(value: object) -> object:
    if isinstance(value, FactRef):
        return {"fact": value.name}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, tuple):
        return [_operand(v) for v in value]
    return value


def _condition(condition: Condition) -> object:
    if isinstance(condition, Compare):
        return [condition.fact, condition.op, _operand(condition.operand)]
    if isinstance(condition, AllOf):
        return {"all": [_condition(p) for p in condition.parts]}
    if isinstance(condition, AnyOf):
        return {"any": [_condition(p) for p in condition.parts]}
    if isinstance(condition, NotOf):
        return {"not": _condition(condition.part)}
    raise TypeError(f"not a condition: {condition!r}")


def _fact(spec: FactSpec) -> object:
    return {
        "name": spec.name,
        "type": str(spec.type),
        "values": list(spec.value_names),
        "required": spec.required,
        "default": _operand(spec.default),
        "min": spec.minimum,
        "max": spec.maximum,
    }


def plan_identity(ruleset: RuleSet) -> str:
    """The digest a plan of ``ruleset`` is stored under (see the module's doc for what it covers)."""
    canonical = {
        "format": FORMAT,
        "engine": ENGINE_DIGEST,
        "facts": [_fact(s) for s in ruleset.facts],
        "rules": [_condition(r.condition) for r in ruleset.rules],
    }
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def canonical(value: object) -> object:
    """``value`` (a model object) as JSON-ready data without file positions: what it says, not where."""
    if is_dataclass(value) and not isinstance(value, type):
        return {
            "@": type(value).__name__,
            **{
                f.name: canonical(getattr(value, f.name))
                for f in fields(value)
                # what it says: not where (positions), not what it caches (compare=False fields)
                if f.compare and not isinstance(getattr(value, f.name), SourceLocation)
            },
        }
    if isinstance(value, tuple | list):
        return [canonical(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted((canonical(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def content_identity(ruleset: RuleSet) -> str:
    """A digest of everything ``ruleset`` says (not where it says it) and of the engine's code: the
    key under which a proof about this rule set's table (its self-check) is kept."""
    text = json.dumps({"format": FORMAT, "engine": ENGINE_DIGEST, "ruleset": canonical(ruleset)},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))  # fmt: skip
    return "check" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Group:
    """Rules reading the same facts: their answers per combination of coarse classes, as bit masks."""

    facts: tuple[str, ...]
    offsets: tuple[tuple[int, ...], ...]  # per fact: fine class → coarse class × stride
    answers: tuple[int, ...]  # combination index → mask of this group's rules that fired


def encode_groups(groups: Sequence[Group] | None, why_live: str = "") -> dict[str, Any]:
    """The stored form of a plan's groups, or of "this rule set goes live" (``groups`` None)."""
    if groups is None:
        return {"format": FORMAT, "live": why_live}
    return {
        "format": FORMAT,
        "groups": [
            {
                "facts": list(g.facts),
                "offsets": [list(o) for o in g.offsets],
                "answers": list(g.answers),
            }
            for g in groups
        ],
    }


class NotTabulable(Exception):
    """This rule set must be evaluated live (the reason is the message)."""


class StoredPlanError(ValueError):
    """A stored plan is not in the stored form (a damaged or foreign file): rebuild it."""


def _ints(value: object, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise StoredPlanError(f"{where} is not a list of non-negative integers")
    return tuple(value)


def decode_groups(data: object) -> list[Group] | None:
    """The groups of a stored plan (``None``: the rule set goes live). :raises StoredPlanError:"""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StoredPlanError("not a stored plan of this format")
    if "live" in data:
        return None
    groups = data.get("groups")
    if not isinstance(groups, list):
        raise StoredPlanError("groups is not a list")
    decoded: list[Group] = []
    for i, group in enumerate(groups):
        if not isinstance(group, dict):
            raise StoredPlanError(f"group {i} is not an object")
        facts = group.get("facts")
        offsets = group.get("offsets")
        if not isinstance(facts, list) or not all(isinstance(f, str) for f in facts):
            raise StoredPlanError(f"group {i}: facts is not a list of names")
        if not isinstance(offsets, list) or len(offsets) != len(facts):
            raise StoredPlanError(f"group {i}: one offsets list per fact is needed")
        decoded.append(
            Group(
                tuple(facts),
                tuple(_ints(o, f"group {i} offsets") for o in offsets),
                _ints(group.get("answers"), f"group {i} answers"),
            )
        )
    return decoded


class PlanStore(Protocol):
    """Where stored plans live between processes (installed by the composition root)."""

    def fetch(self, key: str, build: Callable[[], dict[str, Any]]) -> object:
        """The stored form under ``key``; when there is none, ``build()``'s, stored first. Processes
        asking for the same key at once build it once (the others wait and read it)."""
        ...

    def replace(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` under ``key`` in place of what is there (a stored form that failed its
        check)."""
        ...


_store: PlanStore | None = None


def use_plan_store(store: PlanStore | None) -> None:
    """Keep plans in ``store`` from now on (``None``: in this process only)."""
    global _store
    _store = store


def plan_store() -> PlanStore | None:
    """The installed store, if any."""
    return _store
