"""The validated model of a rule set: frozen dataclasses, no YAML dictionaries past this point.

:mod:`.validate` builds these from raw YAML; the compiler, runtime and explanation only ever see them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Literal

from ..errors import SourceLocation
from ..format.common import Citation, Gap, Provenance, Reading, Region, Source, Validity
from ..messages.language import Text


class FactType(StrEnum):
    BOOL = "bool"
    INT = "int"
    MONEY = "money"
    ENUM = "enum"
    ENUM_LIST = "enum_list"
    DATE = "date"
    STRING = "string"


NUMERIC_TYPES = frozenset({FactType.INT, FactType.MONEY})
ORDERED_TYPES = frozenset({FactType.INT, FactType.MONEY, FactType.DATE})

#: A fact default of this value means "the decision's as-of date" (only for date facts).
AS_OF = "as_of"

FactValue = bool | int | str | date | tuple[str, ...]


@dataclass(frozen=True)
class EnumValue:
    value: str
    label: Text


@dataclass(frozen=True)
class FactSpec:
    """One input field of a rule set: the single source of input validation and of the form."""

    name: str
    type: FactType
    label: Text
    location: SourceLocation
    help: Text | None = None
    values: tuple[EnumValue, ...] = ()
    required: bool = True
    default: FactValue | None = None
    minimum: int | None = None
    maximum: int | None = None
    personal: bool = False
    #: Must be asked of the customer: a form never fills it in with its default.
    ask: bool = False
    #: The customer cannot change it (the prefecture, the line provider): a what-if never proposes it.
    fixed: bool = False
    #: The enum value that means "not known yet" (``unknown``, ``not_confirmed``): a fact sent as
    #: unknown is completed with every other value, and a what-if never proposes it.
    unknown_value: str | None = None

    @property
    def value_names(self) -> tuple[str, ...]:
        return tuple(v.value for v in self.values)


@dataclass(frozen=True)
class Parameter:
    """A figure a policy owner sets (a cut-off date, a threshold), with where it comes from."""

    name: str
    type: FactType
    value: FactValue
    provenance: Provenance
    label: Text
    location: SourceLocation
    note: str = ""
    cite: Citation | None = None


class OutcomeKind(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    UNDECIDABLE = "undecidable"


@dataclass(frozen=True)
class Note:
    """A coded, cited message: a consequence of an outcome, or a reason."""

    code: str
    message: Text
    cite: Citation


@dataclass(frozen=True)
class Consequence(Note):
    """A note told with an answer (of an outcome, or of a rule among the answer's grounds).

    With ``when``, it is told only when the condition holds for the decision's facts; while a fact the
    condition needs is unknown (sent as unknown, or at its ``unknown_value``), ``if_unknown`` is told
    instead ("if the customer has …"), or nothing without it.
    """

    when: Condition | None = None
    if_unknown: Text | None = None
    location: SourceLocation | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Outcome:
    id: str
    kind: OutcomeKind
    label: Text
    consequences: tuple[Consequence, ...] = ()
    gap: Gap | None = None


# --- conditions -------------------------------------------------------------------------------------

Operator = Literal[
    "is", "is_not", "in", "not_in",
    "lt", "le", "gt", "ge",
    "includes", "excludes", "only_from", "not_only_from", "is_empty", "not_empty",
]  # fmt: skip


@dataclass(frozen=True)
class FactRef:
    """The operand of a comparison that names another fact instead of a constant."""

    name: str


Operand = FactValue | FactRef | tuple[str, ...] | None


@dataclass(frozen=True)
class Compare:
    """``fact <op> operand``. Date operands are dates, list operands tuples; see ``Operator``."""

    fact: str
    op: Operator
    operand: Operand
    location: SourceLocation


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class NotOf:
    part: Condition


Condition = Compare | AllOf | AnyOf | NotOf


@dataclass(frozen=True)
class Rule:
    id: str
    condition: Condition
    outcome: str
    reason: Note
    location: SourceLocation
    #: Told with the answer when this rule is among its grounds (it fired for the answer's outcome).
    consequences: tuple[Consequence, ...] = ()


@dataclass(frozen=True)
class Example:
    """A case and the answer it must get. ``expect_reasons`` are the grounds (codes of the expected
    outcome's rules), ``expect_others`` the codes of the rules expected to fire for other outcomes."""

    note: str
    facts: dict[str, object]
    expect_outcome: str
    expect_reasons: frozenset[str]
    location: SourceLocation
    as_of: date | None = None
    expect_others: frozenset[str] = frozenset()


DecideMode = Literal["first_match", "collect"]
DECIDE_MODES: tuple[DecideMode, ...] = ("first_match", "collect")


@dataclass(frozen=True)
class RuleSet(Validity):
    """One version of one rule set, validated and ready to compile."""

    id: str
    version: str
    title: Text
    region: Region
    effective_from: date
    effective_to: date | None
    sources: tuple[Source, ...]
    facts: tuple[FactSpec, ...]
    outcomes: tuple[Outcome, ...]
    decide: DecideMode
    precedence: tuple[str, ...]
    default_outcome: str
    default_reason: Note
    rules: tuple[Rule, ...]
    examples: tuple[Example, ...]
    file: str
    description: Text | None = None
    readings: tuple[Reading, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    # Lookups by id, built for each instance (not init fields: ``dataclasses.replace`` would hand a
    # copy the original's dicts, and the copy's rules would land in the original's index).
    _outcome_index: dict[str, Outcome] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    _rule_index: dict[str, Rule] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        self._outcome_index.update({o.id: o for o in self.outcomes})
        self._rule_index.update({r.id: r for r in self.rules})

    def outcome(self, outcome_id: str) -> Outcome:
        return self._outcome_index[outcome_id]

    def rule(self, rule_id: str) -> Rule:
        return self._rule_index[rule_id]

    def fact(self, name: str) -> FactSpec:
        return next(f for f in self.facts if f.name == name)

    @property
    def key(self) -> str:
        """Unique among loaded versions: ``id@version``."""
        return f"{self.id}@{self.version}"
