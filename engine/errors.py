"""Errors and diagnostics shared by every stage of the engine.

One root, :class:`EngineError`, so callers (the CLI, the web app) can map every engine failure in one place.
Diagnostics carry a stable code and a location so a policy owner can go straight to the line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from .messages import Code, Message

Severity = Literal["error", "warning"]

#: How many diagnostics a report prints before it says "and N more".
DIAGNOSTIC_LIMIT = 50


@dataclass(frozen=True, order=True)
class SourceLocation:
    """A position in a source file, 1-based like editors show it."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a file: what is wrong, where, and how bad.

    ``code`` is stable (tests and clients match on it); ``path`` is the dotted field path inside the file
    (``rules[3].when.all[1].fact``) so a message can name the field even when the line is shared.
    """

    code: str
    message: str
    location: SourceLocation
    path: str = ""
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f" [{self.path}]" if self.path else ""
        prefix = "" if self.severity == "error" else "warning: "
        return f"{self.location}: {prefix}{self.code}: {self.message}{where}"

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "path": self.path,
            "severity": self.severity,
        }


def format_diagnostics(diagnostics: Iterable[Diagnostic], limit: int = DIAGNOSTIC_LIMIT) -> str:
    """Render diagnostics sorted by file and line, capped so a broken file does not flood the terminal."""
    ordered = sorted(diagnostics, key=lambda d: (d.location, d.code))
    lines = [str(d) for d in ordered[:limit]]
    if len(ordered) > limit:
        lines.append(f"... and {len(ordered) - limit} more")
    return "\n".join(lines)


class EngineError(Exception):
    """The base class of every error the engine raises on purpose."""


@dataclass
class ValidationError(EngineError):
    """A rule or tariff file (or folder) failed validation; nothing from it was loaded."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return format_diagnostics(self.errors) or "validation failed"

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


class FactsError(EngineError):
    """The facts sent for a decision do not fit the rule set's fact schema.

    ``fields`` maps each bad field to its reasons, the shape marshmallow uses, so the API can return it as
    is; each reason is a :class:`~engine.messages.Message`, so it can be shown in either language.
    """

    def __init__(self, fields: Mapping[str, object]) -> None:
        self.fields = dict(fields)
        super().__init__(f"invalid facts: {', '.join(sorted(self.fields))}")


class UnknownRuleSetError(EngineError):
    """No rule set with this id is loaded."""

    def __init__(self, ruleset_id: str, known: Iterable[str] = ()) -> None:
        self.ruleset_id = ruleset_id
        self.known = sorted(known)
        self.message = Message(Code.UNKNOWN_RULESET, id=ruleset_id)
        super().__init__(f"unknown rule set {ruleset_id!r}")


class NoVersionInForceError(EngineError):
    """The rule set exists, but none of its versions is in force on the requested date."""

    def __init__(self, ruleset_id: str, as_of: object) -> None:
        self.ruleset_id = ruleset_id
        self.as_of = as_of
        self.message = Message(Code.NO_VERSION_IN_FORCE, id=ruleset_id, day=as_of)
        super().__init__(f"rule set {ruleset_id!r} has no version in force on {as_of}")


class EvaluationError(EngineError):
    """The rules engine failed while deciding; the request was not the cause."""
