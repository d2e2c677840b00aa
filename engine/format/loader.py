"""Read YAML files safely while remembering where every key and item came from.

The loader is a safe loader (no Python object construction, no code execution) that returns plain
``dict``/``list`` subclasses carrying line and column marks, so validation errors can point at the exact
line a policy owner has to fix. It is built on libyaml's parser (``yaml.CSafeLoader``) when PyYAML has it:
the same data and marks, about six times faster than the pure-Python parser on the bundled rules, which
every start, reload and test child pays. Syntax-error wording is then libyaml's; positions are the same.

Whatever it reads — rule files, tariffs, candidate folders of an impact run — it reads within bounds, so a
hostile or broken file is refused with a diagnostic instead of hanging or exhausting a worker: a file over
:data:`MAX_FILE_BYTES` is refused before it is parsed, and before any node is built a streaming pass over
libyaml's events refuses nesting deeper than :data:`MAX_DEPTH` and a document of more than
:data:`MAX_NODES` values once its aliases are expanded (a 6 kB "billion laughs" file stands for billions;
the checkers walk the expanded data, so aliases are counted as what they stand for).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it; the safe constructor on top is the same either way.
try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

from ..errors import Diagnostic, SourceLocation, ValidationError

#: The largest file read, in bytes (1 MiB). The largest bundled file is about 51 kB; a file past this is
#: refused unread, so no size of file can make parsing costly.
MAX_FILE_BYTES = 1 << 20
#: The deepest nesting of mappings and lists (the bundled files reach 10). Building and checking the
#: data recurses per level; libyaml's own limit (1,000) is beyond Python's recursion limit there.
MAX_DEPTH = 64
#: The most values (keys, scalars, mappings, lists) a document may hold with every alias expanded; the
#: largest bundled file has about 3,000.
MAX_NODES = 100_000


class MarkedDict(dict[str, Any]):
    """A mapping from YAML that knows the position of itself and of each key."""

    location: SourceLocation
    key_locations: dict[str, SourceLocation]

    def where(self, key: str) -> SourceLocation:
        """Where ``key`` is written, or where the mapping starts when it is absent."""
        return self.key_locations.get(key, self.location)


class MarkedList(list[Any]):
    """A sequence from YAML that knows the position of itself and of each item."""

    location: SourceLocation
    item_locations: list[SourceLocation]

    def where(self, index: int) -> SourceLocation:
        if 0 <= index < len(self.item_locations):
            return self.item_locations[index]
        return self.location


def _mark(file: str, node: yaml.Node) -> SourceLocation:
    return SourceLocation(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _MarkingLoader(_SafeLoader):
    """A safe loader that builds Marked containers and refuses duplicate keys."""

    file_label = "<string>"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> MarkedDict:  # type: ignore[override]
        # Keys written in this mapping; keys brought in by a merge (<<: *base) may be overridden.
        explicit = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
        self.flatten_mapping(node)
        result = MarkedDict()
        result.location = _mark(self.file_label, node)
        result.key_locations = {}
        written: set[str] = set()
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | bool) or key is None:
                raise yaml.constructor.ConstructorError(
                    None, None, "keys must be plain text", key_node.start_mark
                )
            key_text = key if isinstance(key, str) else _scalar_key(key_node, key)
            if key_text in written and id(key_node) in explicit:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_text!r}", key_node.start_mark
                )
            if id(key_node) in explicit:
                written.add(key_text)
            # Otherwise a merged key: flatten_mapping orders merges so that the last one wins.
            result[key_text] = self.construct_object(value_node, deep=True)
            result.key_locations[key_text] = _mark(self.file_label, key_node)
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> MarkedList:
        result = MarkedList(self.construct_object(child, deep=True) for child in node.value)
        result.location = _mark(self.file_label, node)
        result.item_locations = [_mark(self.file_label, child) for child in node.value]
        return result

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        # Python neither reads nor writes a decimal integer of more than 4,300 digits (ValueError):
        # refuse one here, where its position is known, rather than in whatever prints it later
        # (YAML also reads 0x…, which Python reads at any length).
        try:
            value: int = super().construct_yaml_int(node)
            str(value)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, "an integer with too many digits", node.start_mark
            ) from None
        return value


def _scalar_key(node: yaml.Node, key: object) -> str:
    """Keep the text a policy owner wrote for keys YAML would turn into numbers or booleans (``yes:``)."""
    raw = getattr(node, "value", None)
    return raw if isinstance(raw, str) else str(key)


_MarkingLoader.add_constructor("tag:yaml.org,2002:map", _MarkingLoader.construct_mapping)
_MarkingLoader.add_constructor("tag:yaml.org,2002:seq", _MarkingLoader.construct_sequence)
_MarkingLoader.add_constructor("tag:yaml.org,2002:int", _MarkingLoader.construct_yaml_int)


def _refusal(code: str, message: str, file_label: str, mark: Any = None) -> ValidationError:
    where = (
        SourceLocation(file_label, mark.line + 1, mark.column + 1)
        if mark is not None
        else SourceLocation(file_label)
    )
    return ValidationError([Diagnostic(code, message, where)])


_COLLECTION_STARTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def check_bounds(text: str, file_label: str) -> None:
    """Refuse ``text`` if it nests deeper than :data:`MAX_DEPTH` or holds more than :data:`MAX_NODES`
    values with its aliases expanded; raises :class:`ValidationError` at the offending node.

    Reads libyaml's event stream, keeping only the open collections and the expanded size of each
    anchored node, so it runs in memory bounded by the nesting and stops at the first value past a
    bound — before the composer builds (and the checkers walk) anything. A syntax error is left for
    the parse proper to report.
    """
    parser = _SafeLoader(text)
    sizes: dict[str, int] = {}  # anchor → how many values its node stands for, once complete
    starts: list[tuple[str | None, int]] = []  # open collections: anchor, count when opened
    count = 0
    try:
        while (event := parser.get_event()) is not None:
            if isinstance(event, yaml.AliasEvent):
                # An undefined or recursive alias counts as one; the composer refuses it anyway.
                count += sizes.get(str(event.anchor), 1)
            elif isinstance(event, yaml.ScalarEvent):
                count += 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, _COLLECTION_STARTS):
                count += 1
                starts.append((event.anchor, count - 1))
                if len(starts) > MAX_DEPTH:
                    raise _refusal(
                        "yaml-too-deep",
                        f"mappings and lists nested more than {MAX_DEPTH} deep",
                        file_label,
                        event.start_mark,
                    )
            elif isinstance(event, _COLLECTION_ENDS):
                anchor, before = starts.pop()
                if anchor is not None:
                    sizes[anchor] = count - before
            elif isinstance(event, yaml.DocumentStartEvent):
                sizes.clear()
            else:
                continue
            if count > MAX_NODES:
                raise _refusal(
                    "yaml-too-many-nodes",
                    f"more than {MAX_NODES:,} values once aliases are expanded "
                    "(aliases of aliases multiply: a file of a few lines can stand for billions)",
                    file_label,
                    event.start_mark,
                )
    except yaml.MarkedYAMLError as exc:
        # libyaml stops flow collections ("[[[…") 1,000 deep while scanning ahead: the same refusal.
        if "nesting depth" in (exc.problem or ""):
            raise _refusal(
                "yaml-too-deep",
                f"mappings and lists nested more than {MAX_DEPTH} deep",
                file_label,
                exc.problem_mark,
            ) from None
        return  # any other syntax error: the parse proper reports it, with its position
    except yaml.YAMLError:
        return
    finally:
        parser.dispose()


def parse_yaml(text: str, file_label: str) -> Any:
    """Parse one YAML document within the bounds (:func:`check_bounds`, :data:`MAX_FILE_BYTES`),
    raising :class:`ValidationError` with the position of a syntax error or of the value past a bound."""
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise _too_large(file_label)
    check_bounds(text, file_label)
    loader = _MarkingLoader(text)
    loader.file_label = file_label
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = _position(text, mark.line, mark.column) if mark else (0, 0)
        problem = exc.problem or exc.context or "not valid YAML"
        raise ValidationError(
            [Diagnostic("yaml-syntax", problem, SourceLocation(file_label, line, column))]
        ) from None
    except yaml.YAMLError as exc:
        raise ValidationError(
            [Diagnostic("yaml-syntax", str(exc), SourceLocation(file_label))]
        ) from None
    finally:
        loader.dispose()


def _position(text: str, line: int, column: int) -> tuple[int, int]:
    """A 1-based position for a 0-based mark. libyaml marks the end of a file that lacks a final
    newline on the line after it; the position people see is the end of the last line (where the
    pure-Python parser puts it too)."""
    lines = text.split("\n")
    if line >= len(lines):
        return len(lines), len(lines[-1]) + 1
    return line + 1, column + 1


def read_yaml_file(path: Path, label: str | None = None) -> Any:
    """Read and parse ``path``; the label (default: the path as given) is what diagnostics print."""
    file_label = label or str(path)
    try:
        with path.open("rb") as handle:
            # Refused unread when the size says so; a file that grows meanwhile (or a device) is cut
            # one byte past the limit, which is refused the same way.
            if os.fstat(handle.fileno()).st_size > MAX_FILE_BYTES:
                raise _too_large(file_label)
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise _too_large(file_label)
        # Newlines as ``read_text`` gives them (CR LF and CR become LF): the same lines and columns.
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            [Diagnostic("unreadable-file", f"cannot read file ({exc})", SourceLocation(file_label))]
        ) from None
    return parse_yaml(text, file_label)


def _too_large(file_label: str) -> ValidationError:
    return _refusal(
        "file-too-large",
        f"the file is over {MAX_FILE_BYTES:,} bytes (1 MiB); rule and tariff files are far smaller",
        file_label,
    )


def to_json(value: Any, *, exact: bool = False) -> Any:
    """Loaded YAML → plain JSON data, as an API caller would send it: dates become ISO text.

    With ``exact`` a float is refused (:class:`ValueError`): YAML reads ``1.3`` as an inexact binary
    float, so files whose numbers are money or rates (tariffs) write decimals in quotes instead.
    """
    if isinstance(value, Mapping):
        return {str(key): to_json(item, exact=exact) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json(item, exact=exact) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if exact and isinstance(value, float):
        raise ValueError(f"write {value} in quotes so it stays exact")
    return value


def yaml_files(folder: Path) -> list[Path]:
    """The ``.yaml``/``.yml`` files directly in ``folder``, in a stable order."""
    return sorted(p for p in folder.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
