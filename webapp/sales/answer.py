"""One answer for a whole order: every check and the quote, through the order check of the API.

When every question is answered, the order goes to :func:`webapp.orders.decide_order` — the call of
``POST /v1/orders/check`` — which decides and logs each check under the request's id (the answer's
reference) and prices the quote. While questions are still open, each check is a partial answer
(:mod:`engine.rules.partial`: the outcomes still possible and when), which is not recorded, like the
API's partial answers. Either way each check also says what would change its answer (the what-if).
The view model built here is what the templates show: what holds, what is still to ask (each linked
to its question), what the sources do not say, and what would change the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from engine import Decision, EngineError, today_in_tokyo
from engine.messages.language import Lang
from engine.rules import partial
from engine.rules.model import OutcomeKind, RuleSet

from ..orders import KIND_ORDER, decide_order, quote
from ..problems import Problem, problem_for_engine_error
from ..state import get_rulebook
from .form import Submission

#: A form's field errors: field name → messages (``__general`` for those of no one field); a message
#: is a coded :class:`~engine.messages.Message`, a bilingual ``Text`` or plain text, shown in the
#: page's language.
Errors = dict[str, list[Any]]
GENERAL = "__general"


class FormProblem(Exception):
    """The submission cannot be answered as it is: ``errors`` by form field name."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("invalid form")
        self.errors = errors


@dataclass
class CheckAnswer:
    """One check of the order, as the page shows it."""

    ruleset: RuleSet
    decision: dict[str, Any]
    #: The question each fact is asked by (a field name), for the links of what is still to ask.
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.decision["kind"])

    @property
    def unknown(self) -> list[str]:
        return list(self.decision.get("unknown") or [])

    @property
    def findings(self) -> dict[str, Any]:
        """The engine's three lists apart from the grounds (``confirmed``, ``to_ask``, ``gaps``)."""
        found = self.decision.get("findings")
        return found if isinstance(found, dict) else {}

    @property
    def holds(self) -> list[dict[str, Any]]:
        """What holds: the grounds of the answer, then the conditions that hold for other outcomes."""
        return [*self.decision["reasons"], *self.findings.get("confirmed", [])]

    @property
    def to_ask(self) -> list[str]:
        """The facts the seller must still ask: those sent as unknown, and those the answer read at
        their "not known yet" value."""
        facts = self.unknown
        facts += [t["fact"] for t in self.findings.get("to_ask", []) if t["fact"] not in facts]
        return facts

    @property
    def real_gaps(self) -> list[dict[str, str]]:
        """Gaps in the sources (not the facts still to ask, which are not gaps)."""
        if "gaps" in self.findings:
            return list(self.findings["gaps"])
        return [g for g in self.decision["gaps"] if g["outcome"] != partial.DEPENDS_ON_UNKNOWN]

    def anchor(self, fact: str) -> str:
        return "f-" + self.fields.get(fact, fact).replace(".", "-")


@dataclass
class Answer:
    checks: list[CheckAnswer]
    quote: dict[str, Any] | None
    as_of: date
    reference: str | None  # the logged request's id, when the answer was recorded

    @property
    def kind(self) -> str:
        kinds = {c.kind for c in self.checks}
        return next((k.value for k in KIND_ORDER if k.value in kinds), OutcomeKind.POSITIVE.value)

    @property
    def provisional(self) -> bool:
        return any(c.unknown for c in self.checks)


def _form_errors(problem: Problem, sub: Submission) -> Errors:
    """An order-check problem's field errors under the form's field names."""
    errors: Errors = {}
    for key, messages in problem.errors.items():
        parts = str(key).split(".")
        name = GENERAL
        if parts[0] == "as_of":
            name = "__as_of"
        elif parts[0] == "checks" and len(parts) >= 4 and parts[2] == "facts":
            request = sub.checks[int(parts[1])]
            name = request.fields.get(parts[3], GENERAL)
        elif parts[0] == "quote" and len(parts) >= 5 and parts[3] == "params":
            name = f"q{sub.quote_indexes[int(parts[2])]}.{parts[4]}"
        errors.setdefault(name, []).extend(messages)
    if not errors:
        errors[GENERAL] = [problem.detail]
    return errors


def _changes(decision: Decision, day: date) -> Decision:
    """The decision with what would change it (none when the what-if is too large to search)."""
    decider = get_rulebook().decider(decision.ruleset.id, day)
    try:
        return replace(decision, changes=partial.what_if(decider, decision))
    except partial.TooManyCombinationsError:
        return decision


def explained(decision: Decision, lang: Lang, day: date) -> dict[str, Any]:
    """The decision as the page shows it, with what would change it; ``changes`` is null when the
    what-if was too large to search (the page then says nothing about it)."""
    with_changes = decision if decision.changes is not None else _changes(decision, day)
    shown = with_changes.to_dict(lang)
    shown.setdefault("changes", None)
    return shown


def _recorded(sub: Submission, day: date, lang: Lang, reference: str | None) -> Answer:
    """Every question answered: the order check of the API decides and logs; then the what-ifs."""
    body = {
        "as_of": day,
        "checks": [{"ruleset": c.spec.ruleset, "facts": c.facts} for c in sub.checks],
        "quote": {"as_of": None} if sub.quote_items else None,
    }
    raw_quote = {"items": sub.quote_items} if sub.quote_items else None
    try:
        order = decide_order(body, raw_quote)
    except Problem as problem:
        raise FormProblem(_form_errors(problem, sub)) from None
    checks = [
        CheckAnswer(decision.ruleset, explained(decision, lang, day), request.fields)
        for request, decision in zip(sub.checks, order.decisions, strict=True)
    ]
    return Answer(checks, order.quote, day, reference)


def _provisional(sub: Submission, day: date, lang: Lang) -> Answer:
    """Some questions open: partial answers with their what-ifs, not recorded; the quote as asked."""
    book = get_rulebook()
    checks: list[CheckAnswer] = []
    errors: Errors = {}
    for index, request in enumerate(sub.checks):
        try:
            decider = book.decider(request.spec.ruleset, day)
            if request.unknown:
                decision = partial.partial_decision(
                    decider, request.facts, request.unknown, day, whatif=True
                )
            else:
                decision = decider.decide(request.facts, day)
            checks.append(
                CheckAnswer(decision.ruleset, explained(decision, lang, day), request.fields)
            )
        except EngineError as exc:
            problem = problem_for_engine_error(exc, f"checks.{index}.facts")
            if problem is None:
                raise
            errors.update(_form_errors(problem, sub))
    priced = None
    if sub.quote_items:
        try:
            priced = quote({"items": sub.quote_items}, day, "quote")
        except Problem as problem:
            errors.update(_form_errors(problem, sub))
    if errors:
        raise FormProblem(errors)
    return Answer(checks, priced, day, None)


def answer(sub: Submission, lang: Lang, reference: str | None) -> Answer:
    """The whole order's answer; :raises FormProblem: naming each bad field."""
    if sub.as_of_errors:
        raise FormProblem({"__as_of": list(sub.as_of_errors)})
    day = sub.as_of or today_in_tokyo()
    if sub.checks and not any(c.unknown for c in sub.checks):
        return _recorded(sub, day, lang, reference)
    return _provisional(sub, day, lang)


def priced_again(items: Sequence[Mapping[str, Any]], day: date) -> dict[str, Any] | None:
    """The quote of a recorded answer, priced again from its request on its decision date."""
    if not items:
        return None
    try:
        return quote({"items": list(items)}, day, "quote")
    except Problem:
        return None
