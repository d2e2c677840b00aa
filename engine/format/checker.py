"""The one checker of the YAML files people write: rule sets and tariffs.

A :class:`Checker` collects the diagnostics of one file and offers small typed *readers*. Every reader
has the same shape, ``reader(value, where, path, *extra) -> T | None``: it gets a raw loaded value, the
position to blame and the dotted field path, and returns the typed value, or ``None`` after recording
why the value is unusable. :meth:`Checker.required` and :meth:`Checker.optional` apply a reader to one
key of a mapping, for formats that report an absent key as ``missing-key`` and read nothing further.

On top of the scalar readers sit the readers of the sections both formats share — ``sources``,
``readings``, ``cite``, ``gap``, ``{ja, en}`` texts and ``name: {…}`` entries — so a citation or an id
is checked, and worded, the same way in a rule file and in a tariff. The codes are stable: see the
"Diagnostic codes" sections of docs/rule-format.md and docs/tariff-format.md.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Concatenate, ParamSpec, TypeVar

from ..errors import Diagnostic, SourceLocation
from ..messages.language import Text, join_japanese
from .common import Citation, Gap, Reading, Source
from .loader import MarkedDict, MarkedList
from .sources import SEEDS

#: snake_case without doubled or trailing underscores: the rule compiler builds engine keys with "__",
#: and ids are what API callers type.
IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

T = TypeVar("T")
Choice = TypeVar("Choice", bound=str)
Extra = ParamSpec("Extra")

#: A reader of one raw value: ``(value, where, path, *extra) -> T | None``.
Reader = Callable[Concatenate[object, SourceLocation, str, Extra], T | None]


def suggest(word: object, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close option exists, else empty."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_date(value: object) -> date | None:
    """A day from a YAML date or an ISO ``YYYY-MM-DD`` string; None otherwise.

    Both formats take both spellings (JSON has no date type, so a schema-driven editor writes text). A
    timestamp is not a day and is refused: it never equals a date, and ordering it against one raises.
    """
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def describe(value: object) -> str:
    """How a raw value reads in a message: ``nothing``, ``boolean True``, ``a list``, ``int 3``."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"boolean {value}"
    if isinstance(value, MarkedDict):
        return "a mapping"
    if isinstance(value, MarkedList):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def show(value: object) -> str:
    """A text quoted as written, anything else described."""
    return repr(value) if isinstance(value, str) else describe(value)


def join_path(path: str, key: str | int) -> str:
    """``path.key`` (or ``key`` at the top), ``path[i]`` for an index."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _leaf(path: str) -> str:
    """The last key of a field path (``items.x.params.y.required`` → ``required``), named in messages."""
    return path.rsplit(".", 1)[-1]


@dataclass
class Scope:
    """Whether any error was recorded since :meth:`Checker.scope` was called (one entry's own errors)."""

    checker: Checker
    start: int

    @property
    def failed(self) -> bool:
        recorded = self.checker.diagnostics[self.start :]
        return any(d.severity == "error" for d in recorded)


@dataclass
class Checker:
    """Collects the diagnostics of one file and reads raw values into typed ones."""

    file: str
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, where: SourceLocation, path: str) -> None:
        self.diagnostics.append(Diagnostic(code, message, where, path))

    def warn(self, code: str, message: str, where: SourceLocation, path: str) -> None:
        self.diagnostics.append(Diagnostic(code, message, where, path, "warning"))

    @property
    def failed(self) -> bool:
        """Whether the file has an error so far (later stages skip what depends on a sound file)."""
        return any(d.severity == "error" for d in self.diagnostics)

    def scope(self) -> Scope:
        """Start watching for errors, e.g. of one figure, so only a faulty entry is dropped."""
        return Scope(self, len(self.diagnostics))

    # -- applying a reader to one key of a mapping ---------------------------------------------------

    def required(
        self,
        node: MarkedDict,
        key: str,
        path: str,
        read: Reader[Extra, T],
        *extra: Extra.args,
        **options: Extra.kwargs,
    ) -> T | None:
        """``read`` the value under ``key``; an absent or null value is ``missing-key``."""
        if node.get(key) is None:
            self.error("missing-key", f"{key!r} is required", node.where(key), path)
            return None
        return self.optional(node, key, path, read, *extra, **options)

    def optional(
        self,
        node: MarkedDict,
        key: str,
        path: str,
        read: Reader[Extra, T],
        *extra: Extra.args,
        **options: Extra.kwargs,
    ) -> T | None:
        """``read`` the value under ``key`` when there is one (absent or null: None, no message)."""
        value = node.get(key)
        if value is None:
            return None
        return read(value, node.where(key), path, *extra, **options)

    # -- readers: each returns None (after recording why) when the value is unusable --------------

    def mapping(self, value: object, where: SourceLocation, path: str) -> MarkedDict | None:
        if isinstance(value, MarkedDict):
            return value
        self.error(
            "wrong-type", f"expected a mapping (key: value), got {describe(value)}", where, path
        )
        return None

    def sequence(self, value: object, where: SourceLocation, path: str) -> MarkedList | None:
        if isinstance(value, MarkedList):
            return value
        self.error("wrong-type", f"expected a list, got {describe(value)}", where, path)
        return None

    def string(self, value: object, where: SourceLocation, path: str) -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        self.error("wrong-type", f"expected non-empty text, got {describe(value)}", where, path)
        return None

    def version(self, value: object, where: SourceLocation, path: str) -> str | None:
        """A version string; an unquoted ``2.0``, which YAML reads as a number, gets a hint to quote it."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.error(
                "wrong-type",
                f'version {value!r} was read as a number; quote it, e.g. "{value}"',
                where,
                path,
            )
            return None
        return self.string(value, where, path)

    def identifier(self, value: object, where: SourceLocation, path: str) -> str | None:
        text = self.string(value, where, path)
        if text is not None and not IDENTIFIER.match(text):
            self.error(
                "bad-identifier",
                f"{text!r} must be lower snake_case (a-z, 0-9, single _), starting with a letter",
                where,
                path,
            )
            return None
        return text

    def flag(self, value: object, where: SourceLocation, path: str) -> bool | None:
        """``true`` or ``false`` only: ``"true"`` and ``1`` are refused, not read as truthy."""
        if isinstance(value, bool):
            return value
        self.error("wrong-type", f"{_leaf(path)} is true or false", where, path)
        return None

    def day(self, value: object, where: SourceLocation, path: str) -> date | None:
        parsed = parse_date(value)
        if parsed is None:
            self.error(
                "wrong-type", f"expected a date YYYY-MM-DD, got {describe(value)}", where, path
            )
        return parsed

    def in_order(
        self, start: date | None, end: date | None, where: SourceLocation, path: str
    ) -> None:
        """A validity period may not end before it starts."""
        if start is not None and end is not None and end < start:
            self.error("bad-value", "effective_to is before effective_from", where, path)

    def number(self, value: object, where: SourceLocation, path: str) -> Decimal | None:
        """An exact number: an integer, or a decimal written in quotes (``"14.5"``)."""
        if isinstance(value, float):
            self.error(
                "inexact-number",
                f'write {_leaf(path)!r} in quotes ("{value}") so it stays exact',
                where,
                path,
            )
            return None
        number = None
        if isinstance(value, int | str) and not isinstance(value, bool):
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                number = None
        if number is None or not number.is_finite():
            self.error("wrong-type", f"expected a number, got {describe(value)}", where, path)
            return None
        return number

    def choice(
        self, value: object, where: SourceLocation, path: str, options: Iterable[Choice]
    ) -> Choice | None:
        """One of ``options`` (typed as they are: a tuple of Literals gives that Literal)."""
        listed = list(options)
        for option in listed:
            if isinstance(value, str) and value == option:
                return option
        hint = " (YAML reads bare yes/no/true/false as booleans)" if isinstance(value, bool) else ""
        self.error(
            "bad-value",
            f"{show(value)} is not one of {', '.join(listed)}{hint}{suggest(value, listed)}",
            where,
            path,
        )
        return None

    def one_of(self, options: Iterable[Choice]) -> Reader[[], Choice]:
        """:meth:`choice` among ``options`` as a reader of its own, for :meth:`required`/:meth:`optional`
        (mypy cannot carry the Literal type of ``options`` through their extra arguments)."""
        listed = tuple(options)

        def read(value: object, where: SourceLocation, path: str) -> Choice | None:
            return self.choice(value, where, path, listed)

        return read

    def text(self, value: object, where: SourceLocation, path: str) -> Text | None:
        """``{ja, en}``: both languages are required; the Japanese without YAML's folding spaces
        (:func:`~engine.messages.language.join_japanese`)."""
        mapping = self.mapping(value, where, path)
        if mapping is None:
            return None
        self.known_keys(mapping, {"ja": True, "en": True}, path)
        ja = self.string(mapping.get("ja"), mapping.where("ja"), f"{path}.ja")
        en = self.string(mapping.get("en"), mapping.where("en"), f"{path}.en")
        return Text(join_japanese(ja), en) if ja is not None and en is not None else None

    def cite(
        self,
        value: object,
        where: SourceLocation,
        path: str,
        sources: Collection[str] | None = None,
    ) -> Citation | None:
        """``{source, clause, reading?}``; with ``sources``, the source must be one of them."""
        if value is None:
            self.error("missing-citation", "every rule and note must cite its source", where, path)
            return None
        mapping = self.mapping(value, where, path)
        if mapping is None:
            return None
        self.known_keys(mapping, {"source": True, "clause": True, "reading": False}, path)
        source = self.string(mapping.get("source"), mapping.where("source"), f"{path}.source")
        clause = self.string(mapping.get("clause"), mapping.where("clause"), f"{path}.clause")
        reading = mapping.get("reading")
        if reading is not None:
            reading = self.string(reading, mapping.where("reading"), f"{path}.reading")
        if source is not None and sources is not None and source not in sources:
            self.error(
                "undeclared-source",
                f"{source!r} is not listed under sources{suggest(source, sources)}",
                mapping.where("source"),
                f"{path}.source",
            )
        if source is None or clause is None:
            return None
        return Citation(source, clause, reading)

    def gap(self, value: object, where: SourceLocation, path: str) -> Gap | None:
        """``{missing: {ja, en}, ask: {ja, en}}``: what the sources lack and whom to ask."""
        entry = self.mapping(value, where, path)
        if entry is None or not self.known_keys(entry, {"missing": True, "ask": True}, path):
            return None
        missing = self.text(entry["missing"], entry.where("missing"), f"{path}.missing")
        ask = self.text(entry["ask"], entry.where("ask"), f"{path}.ask")
        return Gap(missing, ask) if missing and ask else None

    # -- keys ------------------------------------------------------------------------------------

    def unknown_keys(self, mapping: MarkedDict, allowed: Collection[str], path: str) -> bool:
        """Report each key not in ``allowed``, with a suggestion; True when there is none."""
        ok = True
        for key in mapping:
            if key not in allowed:
                self.error(
                    "unknown-key",
                    f"unknown key {key!r}{suggest(key, allowed)}",
                    mapping.where(key),
                    join_path(path, key),
                )
                ok = False
        return ok

    def known_keys(self, mapping: MarkedDict, keys: Mapping[str, bool], path: str) -> bool:
        """Report unknown keys and absent required ones (``{key: required}``); True when all is well."""
        ok = self.unknown_keys(mapping, keys, path)
        for key, required in keys.items():
            if required and key not in mapping:
                self.error(
                    "missing-key", f"{key!r} is required", mapping.location, join_path(path, key)
                )
                ok = False
        return ok

    # -- the sections both formats share ---------------------------------------------------------

    def sources(self, value: object, where: SourceLocation, path: str) -> tuple[Source, ...]:
        """``[{file, title}]``: the source documents the file cites; at least one."""
        items = self.sequence(value, where, path)
        found: list[Source] = []
        for i, item in enumerate(items or []):
            item_path = f"{path}[{i}]"
            entry = self.mapping(item, items.where(i) if items else where, item_path)
            if entry is None:
                continue
            self.known_keys(entry, {"file": True, "title": True}, item_path)
            name = self.string(entry.get("file"), entry.where("file"), f"{item_path}.file")
            title = self.string(entry.get("title"), entry.where("title"), f"{item_path}.title")
            title = None if title is None else join_japanese(title)  # shown in every citation
            if name and name not in SEEDS:
                self.error(
                    "unknown-source",
                    f"{name!r} is not one of the source documents ({', '.join(sorted(SEEDS))})",
                    entry.where("file"),
                    f"{item_path}.file",
                )
            if name and title:
                found.append(Source(name, title))
        if items is not None and not found and not self.failed:
            self.error("missing-key", "name at least one source", where, path)
        return tuple(found)

    def readings(
        self,
        value: object,
        where: SourceLocation,
        path: str,
        sources: Collection[str] | None = None,
    ) -> dict[str, Reading]:
        """``[{id, cite, passage, chosen, other}]``: ambiguous passages and the reading implemented."""
        items = self.sequence(value, where, path)
        keys = {"id": True, "cite": True, "passage": True, "chosen": True, "other": True}
        found: dict[str, Reading] = {}
        for i, item in enumerate(items or []):
            item_path = f"{path}[{i}]"
            entry = self.mapping(item, items.where(i) if items else where, item_path)
            if entry is None or not self.known_keys(entry, keys, item_path):
                continue
            rid = self.string(entry["id"], entry.where("id"), f"{item_path}.id")
            cite = self.cite(entry["cite"], entry.where("cite"), f"{item_path}.cite", sources)
            passage = self.string(entry["passage"], entry.where("passage"), f"{item_path}.passage")
            chosen = self.text(entry["chosen"], entry.where("chosen"), f"{item_path}.chosen")
            other = self.text(entry["other"], entry.where("other"), f"{item_path}.other")
            if rid in found:
                self.error(
                    "duplicate-id",
                    f"reading {rid!r} is defined twice",
                    entry.where("id"),
                    item_path,
                )
            elif rid and cite and passage and chosen and other:
                found[rid] = Reading(rid, cite, passage, chosen, other)
        return found

    def entries(
        self,
        section: MarkedDict | None,
        path: str,
        keys: Mapping[str, bool] | None = None,
        declared: set[str] | None = None,
    ) -> Iterator[tuple[str, MarkedDict, SourceLocation, str]]:
        """Each well-formed ``name: {...}`` entry of a section (facts, outcomes, figures, items …).

        Yields the name, the entry, where it is written and its field path; a name that is no
        identifier, a non-mapping or (with ``keys``) unknown/missing keys are recorded and the entry
        skipped. Every name, good or bad, goes into ``declared`` so later references to it do not
        repeat the error (one typo, one message).
        """
        for key, raw in (section or {}).items():
            entry_path = f"{path}.{key}"
            where = section.where(key) if section is not None else SourceLocation(self.file)
            if declared is not None:
                declared.add(str(key))
            name = self.identifier(key, where, entry_path)
            entry = self.mapping(raw, where, entry_path)
            if name is None or entry is None:
                continue
            if keys is not None and not self.known_keys(entry, keys, entry_path):
                continue
            yield name, entry, where, entry_path
