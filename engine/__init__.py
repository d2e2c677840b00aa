"""The decision engine: YAML rule sets validated, compiled to durable_rules and evaluated with reasons.

Public API::

    from engine import load_rulebook
    book = load_rulebook(Path("rules"))          # ValidationError if any file is bad
    decision = book.decide("passport_continuation", {"change_type": "relocation"})
    decision.to_dict("en")                        # outcome, reasons with citations, facts

The pipeline, one module per stage: ``loader`` (YAML with positions) → ``validate`` (model or
diagnostics) → ``compiler`` (durable_rules JSON) → ``runtime`` (the only durable_rules user) →
``evaluate`` (hit policy) → ``explain`` (reasons and citations). ``rulebook`` ties them together.
"""

from .clock import today_in_tokyo
from .errors import (
    Diagnostic,
    EngineError,
    EvaluationError,
    FactsError,
    NoVersionInForceError,
    UnknownRuleSetError,
    ValidationError,
)
from .rules.explain import Decision, Reason
from .rules.rulebook import Rulebook, load_rulebook

__all__ = [
    "Decision",
    "Diagnostic",
    "EngineError",
    "EvaluationError",
    "FactsError",
    "NoVersionInForceError",
    "Reason",
    "Rulebook",
    "UnknownRuleSetError",
    "ValidationError",
    "load_rulebook",
    "today_in_tokyo",
]
