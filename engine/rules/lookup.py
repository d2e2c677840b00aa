"""The generated lookup of a decision table: validate, classify and answer a request in straight-line
code specialised to one rule set (:mod:`.table` builds the plan it reads)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from ..format.common import MAX_STRING_LENGTH
from .domain import Partition
from .facts import integer_bounds
from .model import AS_OF, FactType, FactValue
from .plans import Group, NotTabulable

#: The generated function: the normalised facts and the mask of fired rules, or ``None`` (go live).
Lookup = Callable[[object, date], "tuple[dict[str, FactValue], int] | None"]

_MISSING = object()


def generate_lookup(partitions: Sequence[Partition], groups: Sequence[Group]) -> Lookup:
    """Python source specialised to this rule set: validate, classify, OR the groups' answers.

    Generated (like ``dataclasses`` and ``namedtuple`` do) because a generic loop over facts and groups
    costs several times more than the straight-line code. The function returns ``None`` for anything it
    cannot vouch for, so the live path (marshmallow) produces the same error messages as ever.
    """
    env: dict[str, Any] = {
        "MISSING": _MISSING, "KNOWN": frozenset(c.spec.name for c in partitions),
        "bisect_right": bisect.bisect_right, "fromisoformat": date.fromisoformat, "date": date,
    }  # fmt: skip
    lines = [
        "def lookup(raw, as_of):",
        "    if type(raw) is not dict or not raw.keys() <= KNOWN:",
        "        return None",
        "    try:",
    ]
    for k, c in enumerate(partitions):
        lines.extend("        " + line for line in _fact_code(k, c, env))
    lines.append("    except (KeyError, TypeError, ValueError):")
    lines.append("        return None")
    names = ", ".join(f"{c.spec.name!r}: v{k}" for k, c in enumerate(partitions))
    position = {c.spec.name: k for k, c in enumerate(partitions)}
    terms = []
    for g, group in enumerate(groups):
        env[f"A{g}"] = group.answers
        parts = []
        for j, name in enumerate(group.facts):
            env[f"O{g}_{j}"] = group.offsets[j]
            parts.append(f"O{g}_{j}[c{position[name]}]")
        terms.append(f"A{g}[{' + '.join(parts)}]")
    lines.append(f"    return {{{names}}}, {' | '.join(terms) or '0'}")
    exec(compile("\n".join(lines), "<engine.rules.lookup>", "exec"), env)  # noqa: S102
    lookup: Lookup = env["lookup"]
    return lookup


def _fact_code(k: int, c: Partition, env: dict[str, Any]) -> list[str]:
    """Lines that leave the normalised value in ``v<k>`` and its fine class in ``c<k>``."""
    spec = c.spec
    v, cls = f"v{k}", f"c{k}"
    check = _check_code(k, c, env)
    if spec.required:
        return [f"{v} = raw[{spec.name!r}]", *check]
    if spec.default == AS_OF:
        default = [f"{v} = as_of", *_classify_code(k, c, env)]
    else:
        default_value: Any = spec.default
        if spec.type is FactType.ENUM_LIST:
            default_value = tuple(default_value or ())
        env[f"D{k}"] = default_value
        default = [f"{v} = D{k}", f"{cls} = {c.classify(default_value)}"]
    return [
        f"{v} = raw.get({spec.name!r}, MISSING)",
        f"if {v} is MISSING:",
        *("    " + line for line in default),
        "else:",
        *("    " + line for line in check),
    ]


def _check_code(k: int, c: Partition, env: dict[str, Any]) -> list[str]:
    """Validate ``v<k>`` as marshmallow would accept it unchanged (else ``return None``), classify it."""
    spec, v = c.spec, f"v{k}"
    match spec.type:
        case FactType.BOOL:
            yes, no = c.index[True], c.index[False]
            return [f"if {v} is True:", f"    c{k} = {yes}", f"elif {v} is False:",
                    f"    c{k} = {no}", "else:", "    return None"]  # fmt: skip
        case FactType.ENUM:
            env[f"E{k}"] = dict(c.index)
            return [f"c{k} = E{k}[{v}]"]
        case FactType.INT | FactType.MONEY:
            # The values the marshmallow field accepts (facts.integer_bounds): the declared range,
            # never beyond what durable_rules compares exactly; anything else goes live and is refused.
            low, high = integer_bounds(spec)
            guard = f"type({v}) is not int or {v} < {low} or {v} > {high}"
            return [f"if {guard}:", "    return None", *_classify_code(k, c, env)]
        case FactType.DATE:
            return [f"if type({v}) is str:", f"    {v} = fromisoformat({v})",
                    f"elif type({v}) is not date:", "    return None",
                    *_classify_code(k, c, env)]  # fmt: skip
        case FactType.STRING:
            env[f"S{k}"] = dict(c.index)
            return [f"if type({v}) is not str or len({v}) > {MAX_STRING_LENGTH}:", "    return None",
                    f"c{k} = S{k}.get({v}, {c.other})"]  # fmt: skip
        case FactType.ENUM_LIST:
            # B<k>: declared item → its class bit (an undeclared or unhashable item fails the lookup).
            env[f"B{k}"] = dict(c.index)
            return [f"if type({v}) is not list or len(frozenset({v})) != len({v}):", "    return None",
                    f"c{k} = 0", f"for item in {v}:", f"    c{k} |= B{k}[item]",
                    f"{v} = tuple({v})"]  # fmt: skip
    raise NotTabulable(f"fact type {spec.type}")  # pragma: no cover


def _classify_code(k: int, c: Partition, env: dict[str, Any]) -> list[str]:
    """Ordered facts: the class of ``v<k>``, found among the cut points."""
    if not c.cuts:
        return [f"c{k} = 0"]
    env[f"T{k}"] = c.cuts
    return [f"c{k} = bisect_right(T{k}, v{k})"]
