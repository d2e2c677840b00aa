"""The decision engine: YAML rule sets validated, analysed, compiled to durable_rules and evaluated with
reasons.

Public API::

    from engine import load_rulebook
    book = load_rulebook(Path("rules"))          # ValidationError if any file fails check
    decision = book.decide("passport_continuation", {"change_type": "relocation"})
    decision.to_dict("en")                        # outcome, reasons with citations, facts

:func:`load_rulebook` is the one loader: it accepts exactly the files ``flets-elig check`` passes
(validation, then the static analysis), for the command line and the server alike.

The packages, the first three the pure core (no Flask, no database, no threads of their own):

* ``format``: what rule and tariff files share (YAML with positions, the common types);
* ``rules``: the rule pipeline, one module per stage: ``validate`` (model or diagnostics) →
  ``analysis`` (static checks) → ``compiler`` (durable_rules JSON) → ``runtime`` (the only durable_rules
  user) → ``table`` (answers precomputed at load) → ``evaluate`` (hit policy) → ``explain`` (reasons and
  citations); ``rulebook`` ties them together;
* ``tariff``: price tables and quotes;
* ``lifecycle``: the I/O edge (the decision log, hot reload, impact replay);
* ``cli``: the ``flets-elig`` command line.
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
