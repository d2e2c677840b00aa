"""Validated rule sets and tariffs kept per machine, so a start with unchanged files skips reading them.

Once the decision tables' plans were stored (:mod:`.plan_cache`), most of a worker's start was reading
the files: parsing some forty YAML documents, validating, analysing and digesting them, about half of a
warm start (docs/benchmarks.md). What that produces — the validated rule sets, their warnings and
content digests, the tariffs and tax rates — depends on nothing but

* the bytes of every file of the snapshot (:class:`~.generations.Snapshot`'s digest),
* the names the files are cited by (answers cite ``rules/<file>:<line>``),
* the engine's own code and the versions of the YAML parser and marshmallow (any change to a
  checker may change the result),
* and the day: an example without ``as_of`` is normalised as of today (:mod:`engine.rules.validate`).

So the first process to load a snapshot stores that result in the machine's cache folder (the plan
store, ``FLETS_PLAN_CACHE``) under the digest of all four, and every later start of the same files
builds the model from it instead: about 20 ms instead of 0.35 s. A file that fails its checks is never
stored (the next load reports the same errors from the files), so only a load that passed is ever
skipped.

**No code from the cache.** The entry is JSON data (no pickle). It is turned back into objects only
through the constructors of the model's own classes — the dataclasses and enums of the modules in
:data:`MODEL_MODULES`, looked up by name in a fixed registry — so no entry can make the service run
anything, and a damaged one fails to decode, which is a miss: the files are read as usual and the
entry is written again. What an entry holds decides answers, as the rule files do, so the folder is
private to the service's user (0700, :mod:`.plan_cache`): whoever can write it could edit the rules.
:func:`encode` refuses anything it could not give back exactly (a float that is not finite, an
unknown class, a ``dict`` subclass), and the test suite proves the round trip equal to reading the
files for the bundled rules and tariffs (``tests/lifecycle/test_load_cache.py``).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, time
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from .. import errors as _errors
from ..clock import today_in_tokyo
from ..errors import Diagnostic
from ..format import common as _common
from ..format import versions as _versions
from ..format.versions import VersionedFile
from ..messages import Message
from ..messages import codes as _codes
from ..messages import language as _language
from ..rules import model as _rules_model
from ..rules.model import RuleSet
from ..rules.plans import PlanStore
from ..rules.rulebook import ruleset_file
from ..tariff import model as _tariff_model
from ..tariff import periods as _periods
from ..tariff.book import TariffBook
from ..tariff.model import Tariff, TaxRate
from .plan_cache import LOAD_PREFIX

log = logging.getLogger(__name__)

#: The entry's layout; a change makes every stored entry a miss (it is part of the key).
FORMAT = 1
#: The modules whose dataclasses and enums an entry may hold — the model, nothing else.
MODEL_MODULES: tuple[ModuleType, ...] = (
    _rules_model,
    _tariff_model,
    _periods,
    _common,
    _versions,
    _errors,
    _language,
    _codes,
)


class CodecError(ValueError):
    """A value :func:`encode` cannot give back exactly, or an entry :func:`decode` cannot read."""


def _registry() -> dict[str, type]:
    found: dict[str, type] = {}
    for module in MODEL_MODULES:
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == module.__name__
                and (dataclasses.is_dataclass(value) or issubclass(value, enum.Enum))
            ):
                found[f"{value.__module__}:{value.__qualname__}"] = value
    return found


_CLASSES = _registry()
_NAMES = {cls: name for name, cls in _CLASSES.items()}
_SCALARS = (str, int, bool, type(None))


def encode(value: Any) -> Any:
    """``value`` — model objects, tuples, lists, frozensets, dicts, dates, times, decimals and JSON
    scalars — as JSON data :func:`decode` turns back into an equal value; :class:`CodecError` for
    anything else. Dataclasses are written as their class's name and their ``init`` fields in order."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return [encode(item) for item in value]
    name = _NAMES.get(kind)
    if name is not None:
        if isinstance(value, enum.Enum):
            return {"E": name, "v": encode(value.value)}
        fields = dataclasses.fields(value)
        return {"@": name, "v": [encode(getattr(value, f.name)) for f in fields if f.init]}
    if kind is tuple:
        return {"t": [encode(item) for item in value]}
    if kind is frozenset:
        return {"fs": [encode(item) for item in value]}
    if kind is dict:
        return {"d": [[encode(k), encode(v)] for k, v in value.items()]}
    if kind is date:
        return {"date": value.isoformat()}
    if kind is time:
        return {"time": value.isoformat()}
    if kind is Decimal:
        return {"dec": str(value)}
    if kind is Message:  # a diagnostic's text: its code and parameters, as a copy makes it
        return {"msg": encode(value.code), "p": encode(dict(value.params))}
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise CodecError(f"a float that is not finite: {value!r}")
        return {"f": repr(value)}
    raise CodecError(f"cannot store a {kind.__module__}.{kind.__qualname__}")


def decode(data: Any) -> Any:
    """The value :func:`encode` wrote as ``data``; :class:`CodecError` when ``data`` is not such.

    A :class:`dict` marks a tagged value (there is no untagged object in an entry), so the tags are
    checked in a fixed order and the first present one decides."""
    try:
        return _decode(data)
    except CodecError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError,
            RecursionError) as exc:  # fmt: skip
        raise CodecError(f"not a stored value ({type(exc).__name__}: {exc})") from None


def _decode(data: Any) -> Any:
    kind = type(data)
    if kind is list:
        return [_decode(item) for item in data]
    if kind is not dict:
        if kind in _SCALARS:
            return data
        raise CodecError(f"not a stored value: {kind.__name__}")
    if "@" in data:
        return _class(data["@"])(*[_decode(item) for item in data["v"]])
    if "t" in data:
        return tuple(_decode(item) for item in data["t"])
    if "d" in data:
        return {_decode(k): _decode(v) for k, v in data["d"]}
    if "fs" in data:
        return frozenset(_decode(item) for item in data["fs"])
    if "E" in data:
        return _class(data["E"])(_decode(data["v"]))
    if "date" in data:
        return date.fromisoformat(data["date"])
    if "time" in data:
        return time.fromisoformat(data["time"])
    if "dec" in data:
        return Decimal(data["dec"])
    if "f" in data:
        return float(data["f"])
    if "msg" in data:
        return Message(_decode(data["msg"]), **_decode(data["p"]))
    raise CodecError(f"not a stored value: an object with {sorted(data)}")


def _class(name: Any) -> Any:
    found = _CLASSES.get(name) if isinstance(name, str) else None
    if found is None:
        raise CodecError(f"not a class of the model: {name!r}")
    return found


#: The packages whose behaviour shapes what the files validate to: the YAML parser and the schema
#: library the facts of examples are read with (their versions are part of the key).
CHECKER_PACKAGES = ("PyYAML", "marshmallow")

_code_digest: str | None = None


def engine_code_digest() -> str:
    """The SHA-256 of the engine's own source files and of the versions of
    :data:`CHECKER_PACKAGES` (computed once per process)."""
    global _code_digest
    if _code_digest is None:
        root = Path(__file__).resolve().parent.parent
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        for package in CHECKER_PACKAGES:
            try:
                digest.update(f"{package}=={metadata.version(package)}\0".encode())
            except (
                metadata.PackageNotFoundError
            ):  # pragma: no cover - a source tree without metadata
                digest.update(f"{package}==?\0".encode())
        _code_digest = digest.hexdigest()
    return _code_digest


def entry_key(snapshot_digest: str, names: Iterable[str], day: date | None = None) -> str:
    """The key of the load of a snapshot whose files are cited by ``names``, on ``day`` (today in
    Tokyo by default), by this engine."""
    digest = hashlib.sha256()
    for part in (f"load-format-{FORMAT}", engine_code_digest(), sys.version,
                 (day or today_in_tokyo()).isoformat(), snapshot_digest, *sorted(names)):  # fmt: skip
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return LOAD_PREFIX + digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class Loaded:
    """What reading a snapshot's files produces: the rule sets with their files' versions and the
    warnings, and (when the snapshot has tariffs) the tariffs, tax rates and their files."""

    rulesets: Sequence[RuleSet]
    files: Sequence[VersionedFile]
    warnings: Sequence[Diagnostic]
    tariffs: Sequence[Tariff] | None = None
    rates: Sequence[TaxRate] = ()
    tariff_files: Sequence[VersionedFile] = ()

    @classmethod
    def of(cls, rulesets: Sequence[RuleSet], warnings: Sequence[Diagnostic],
           tariffs: TariffBook | None) -> Loaded:  # fmt: skip
        return cls(
            list(rulesets),
            [ruleset_file(rs) for rs in rulesets],
            list(warnings),
            None if tariffs is None else tariffs.tariffs,
            () if tariffs is None else tariffs.rates,
            () if tariffs is None else list(tariffs.files.values()),
        )

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **{f.name: encode(getattr(self, f.name))
                                     for f in dataclasses.fields(self)}}  # fmt: skip

    @classmethod
    def from_json(cls, data: Any) -> Loaded:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CodecError("not a stored load of this format")
        values = {f.name: decode(data.get(f.name)) for f in dataclasses.fields(cls)}
        loaded = cls(**values)
        if len(loaded.files) != len(loaded.rulesets) or not all(
            isinstance(rs, RuleSet) for rs in loaded.rulesets
        ):
            raise CodecError("the stored rule sets and their files do not match")
        return loaded


def cached_load(store: PlanStore | None, key: str, read: Callable[[], Loaded]) -> Loaded:
    """The load stored under ``key``, or ``read()``'s (stored first). Processes loading the same files
    at once read them once: the others wait and decode the entry. Without a store, ``read()``.

    ``read`` raising (files that fail their checks) stores nothing and reaches the caller.
    """
    if store is None:
        return read()
    fresh: list[Loaded] = []

    def build() -> dict[str, Any]:
        fresh.append(read())
        try:
            return fresh[0].to_json()
        except CodecError as exc:  # never expected of validated files; the load stands
            log.warning("load cache: this load cannot be stored (%s)", exc)
            return {"format": None}

    stored = store.fetch(key, build)
    if fresh:
        return fresh[0]
    try:
        return Loaded.from_json(stored)
    except CodecError as exc:
        log.warning("load cache: entry %s… unreadable (%s); reading the files", key[:16], exc)
        loaded = read()
        try:
            store.replace(key, loaded.to_json())
        except CodecError:
            pass
        return loaded
