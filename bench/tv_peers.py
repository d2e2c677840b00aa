"""The TV transport application decision (rules/tv_application.yaml) written for each peer by hand.

Each peer gets complete facts (every field present, as the engine sees them after defaults) and its
answer is reduced to ``(outcome, reason codes in rule order)``, the same reduction applied to the
engine's Decision. ``bench/decisions.py`` checks all of them agree before timing anything.

* ``floor_decide`` — a hand-written Python function: the floor no rules engine can beat;
* ``DurableRaw`` — durable_rules through its public Python API (``durable.engine.Host``), one sid per
  decision, Python actions recording the fired rules, ``delete_state`` after each decision;
* ``zen_table_jdm`` / ``zen_expression_jdm`` — GoRules zen-engine JDM graphs: a ``collect`` decision table,
  and an expression node computing every ground as a boolean.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any

Facts = Mapping[str, Any]
Answer = tuple[str, tuple[str, ...]]

SERVED = (
    "hokkaido", "aomori", "iwate", "miyagi", "akita", "yamagata", "fukushima", "ibaraki", "tochigi",
    "gunma", "saitama", "chiba", "tokyo", "kanagawa", "niigata", "yamanashi", "nagano",
)  # fmt: skip
SERVED_SET = frozenset(SERVED)

#: reason code → outcome, in rule (file) order.
REASONS: dict[str, str] = {
    "outside_service_prefectures": "cannot_contract",
    "outside_service_district": "cannot_contract",
    "service_district_unconfirmed": "area_to_be_confirmed",
    "line_item_ineligible": "cannot_contract",
    "line_item_unconfirmed": "item_to_be_confirmed",
    "line_not_designated": "cannot_contract",
    "designation_unknown": "designation_to_be_confirmed",
    "line_already_has_contract": "cannot_contract",
    "several_contractors": "cannot_contract",
    "provided_by_collab_operator": "operator_terms",
    "form_missing_line_details": "application_incomplete",
    "applicant_not_line_contractor": "cannot_contract",
    "technically_very_difficult": "may_refuse",
    "in_default_or_likely": "may_refuse",
    "likely_to_breach_article_32": "may_refuse",
    "use_beyond_household": "may_refuse",
    "use_beyond_premises": "may_refuse",
    "serious_business_hindrance": "may_refuse",
    "accepted_in_order_of_receipt": "accepted",
}
PRECEDENCE = (
    "cannot_contract", "may_refuse", "application_incomplete", "operator_terms",
    "area_to_be_confirmed", "item_to_be_confirmed", "designation_to_be_confirmed", "accepted",
)  # fmt: skip
RANK = {o: i for i, o in enumerate(PRECEDENCE)}
DEFAULT: Answer = ("area_to_be_confirmed", ("no_rule_covers",))

BOOL_FACTS = (
    "applicant_is_line_contractor", "line_has_tv_contract", "several_contractors", "form_names_line",
    "technically_very_difficult", "in_default_or_likely", "likely_to_breach_article_32",
    "use_beyond_household_or_premises", "bulk_plan", "serious_business_hindrance",
)  # fmt: skip


def answer_of(reasons: tuple[str, ...]) -> Answer:
    """Collect hit policy: the strongest outcome by precedence, every reason in rule order."""
    if not reasons:
        return DEFAULT
    return min((REASONS[r] for r in reasons), key=RANK.__getitem__), reasons


# --- the floor ------------------------------------------------------------------------------------


def floor_decide(f: Facts) -> Answer:
    """The decision as a Python programmer would write it without any rules engine."""
    r: list[str] = []
    served = f["prefecture"] in SERVED_SET
    district = f["district_in_area"]
    if not served:
        r.append("outside_service_prefectures")
    elif district == "confirmed_outside":
        r.append("outside_service_district")
    elif district == "not_confirmed":
        r.append("service_district_unconfirmed")
    item, designation = f["line_item"], f["line_designation"]
    if item == "confirmed_ineligible":
        r.append("line_item_ineligible")
    elif item == "not_confirmed":
        r.append("line_item_unconfirmed")
    if designation == "not_designated":
        r.append("line_not_designated")
    elif designation == "unknown":
        r.append("designation_unknown")
    if f["line_has_tv_contract"]:
        r.append("line_already_has_contract")
    if f["several_contractors"]:
        r.append("several_contractors")
    if f["line_kind"] == "collab_via_operator":
        r.append("provided_by_collab_operator")
    if not f["form_names_line"]:
        r.append("form_missing_line_details")
    if not f["applicant_is_line_contractor"]:
        r.append("applicant_not_line_contractor")
    for ground in (
        "technically_very_difficult",
        "in_default_or_likely",
        "likely_to_breach_article_32",
    ):
        if f[ground]:
            r.append(ground)
    beyond = f["use_beyond_household_or_premises"] and not f["bulk_plan"]
    if beyond:
        r.append(
            "use_beyond_household"
            if f["termination_place"] == "residential"
            else "use_beyond_premises"
        )
    if f["serious_business_hindrance"]:
        r.append("serious_business_hindrance")
    if not r:  # every blocking ground is absent; the accept rule's own conditions all hold then
        r.append("accepted_in_order_of_receipt")
    return answer_of(tuple(r))


# --- raw durable_rules, public Python API -----------------------------------------------------------


def _eq(field: str, value: object) -> dict[str, Any]:
    return {field: value}


def _one_of(field: str, values: tuple[str, ...]) -> dict[str, Any]:
    return {"$or": [{field: v} for v in values]}


def _none_of(field: str, values: tuple[str, ...]) -> dict[str, Any]:
    return {"$and": [{"$neq": {field: v}} for v in values]}


def _all(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"$and": [{"req": 1}, *parts]}


DURABLE_CONDITIONS: dict[str, dict[str, Any]] = {
    "outside_service_prefectures": _all(_none_of("prefecture", SERVED)),
    "outside_service_district": _all(
        _one_of("prefecture", SERVED), _eq("district_in_area", "confirmed_outside")
    ),
    "service_district_unconfirmed": _all(
        _one_of("prefecture", SERVED), _eq("district_in_area", "not_confirmed")
    ),
    "line_item_ineligible": _all(_eq("line_item", "confirmed_ineligible")),
    "line_item_unconfirmed": _all(_eq("line_item", "not_confirmed")),
    "line_not_designated": _all(_eq("line_designation", "not_designated")),
    "designation_unknown": _all(_eq("line_designation", "unknown")),
    "line_already_has_contract": _all(_eq("line_has_tv_contract", True)),
    "several_contractors": _all(_eq("several_contractors", True)),
    "provided_by_collab_operator": _all(_eq("line_kind", "collab_via_operator")),
    "form_missing_line_details": _all(_eq("form_names_line", False)),
    "applicant_not_line_contractor": _all(_eq("applicant_is_line_contractor", False)),
    "technically_very_difficult": _all(_eq("technically_very_difficult", True)),
    "in_default_or_likely": _all(_eq("in_default_or_likely", True)),
    "likely_to_breach_article_32": _all(_eq("likely_to_breach_article_32", True)),
    "use_beyond_household": _all(
        _eq("termination_place", "residential"),
        _eq("use_beyond_household_or_premises", True),
        _eq("bulk_plan", False),
    ),
    "use_beyond_premises": _all(
        _eq("termination_place", "non_residential"),
        _eq("use_beyond_household_or_premises", True),
        _eq("bulk_plan", False),
    ),
    "serious_business_hindrance": _all(_eq("serious_business_hindrance", True)),
    "accepted_in_order_of_receipt": _all(
        _one_of("prefecture", SERVED),
        _eq("district_in_area", "confirmed_inside"),
        _one_of("line_item", ("menu_5_1_200mbps", "confirmed_eligible")),
        _eq("line_designation", "designated"),
        _one_of("line_kind", ("ntt_flets", "collab_direct")),
        _eq("applicant_is_line_contractor", True),
        _eq("line_has_tv_contract", False),
        _eq("several_contractors", False),
        _eq("form_names_line", True),
        _eq("technically_very_difficult", False),
        _eq("in_default_or_likely", False),
        _eq("likely_to_breach_article_32", False),
        {"$or": [_eq("use_beyond_household_or_premises", False), _eq("bulk_plan", True)]},
        _eq("serious_business_hindrance", False),
    ),
}

_durable_names = itertools.count()


class DurableRaw:
    """durable_rules driven through ``durable.engine.Host``: assert_fact, Python actions, delete_state.

    The Host's background dispatch timers are switched off (a documented race: ``assert_fact`` returned
    ``None`` when the dispatcher thread ran the actions first); everything else is the stock public API.
    """

    def __init__(self) -> None:
        from durable import engine as durable_engine

        class QuietHost(durable_engine.Host):  # type: ignore[misc]
            def _run(self) -> None:  # no background dispatch timers
                pass

        self._fired: list[str] = []
        self._sids = itertools.count(1)
        self.name = f"tv_raw_{next(_durable_names)}"
        definition: dict[str, Any] = {
            code: {"all": [{"m": condition}], "run": self._recorder(code)}
            for code, condition in DURABLE_CONDITIONS.items()
        }
        definition["guard"] = {"all": [{"m": {"req": 1}}], "run": lambda c: None}
        self.host = QuietHost()
        self.host.set_rulesets({self.name: definition})

    def _recorder(self, code: str) -> Callable[[Any], None]:
        fired = self._fired

        def record(c: Any) -> None:
            fired.append(code)

        return record

    def decide(self, f: Facts) -> Answer:
        sid = str(next(self._sids))
        self._fired.clear()
        self.host.assert_fact(self.name, {**f, "sid": sid, "req": 1})
        self.host.delete_state(self.name, sid)
        fired = set(self._fired)
        return answer_of(tuple(code for code in REASONS if code in fired))


# --- GoRules zen-engine JDM -----------------------------------------------------------------------


def _quoted(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


#: Decision-table input columns: id → the expression each column reads.
ZEN_COLUMNS: dict[str, str] = {
    "prefecture": "prefecture",
    "district": "district_in_area",
    "item": "line_item",
    "designation": "line_designation",
    "kind": "line_kind",
    "place": "termination_place",
    "single_use": "use_beyond_household_or_premises == false or bulk_plan == true",
    **{name: name for name in BOOL_FACTS},
}
_IN_SERVED = f"$ in {_quoted(SERVED)}"
ZEN_ROWS: dict[str, dict[str, str]] = {
    "outside_service_prefectures": {"prefecture": f"not({_IN_SERVED})"},
    "outside_service_district": {"prefecture": _IN_SERVED, "district": "'confirmed_outside'"},
    "service_district_unconfirmed": {"prefecture": _IN_SERVED, "district": "'not_confirmed'"},
    "line_item_ineligible": {"item": "'confirmed_ineligible'"},
    "line_item_unconfirmed": {"item": "'not_confirmed'"},
    "line_not_designated": {"designation": "'not_designated'"},
    "designation_unknown": {"designation": "'unknown'"},
    "line_already_has_contract": {"line_has_tv_contract": "true"},
    "several_contractors": {"several_contractors": "true"},
    "provided_by_collab_operator": {"kind": "'collab_via_operator'"},
    "form_missing_line_details": {"form_names_line": "false"},
    "applicant_not_line_contractor": {"applicant_is_line_contractor": "false"},
    "technically_very_difficult": {"technically_very_difficult": "true"},
    "in_default_or_likely": {"in_default_or_likely": "true"},
    "likely_to_breach_article_32": {"likely_to_breach_article_32": "true"},
    "use_beyond_household": {"place": "'residential'", "use_beyond_household_or_premises": "true",
                             "bulk_plan": "false"},
    "use_beyond_premises": {"place": "'non_residential'", "use_beyond_household_or_premises": "true",
                            "bulk_plan": "false"},
    "serious_business_hindrance": {"serious_business_hindrance": "true"},
    "accepted_in_order_of_receipt": {
        "prefecture": _IN_SERVED, "district": "'confirmed_inside'",
        "item": "'menu_5_1_200mbps', 'confirmed_eligible'", "designation": "'designated'",
        "kind": "'ntt_flets', 'collab_direct'", "applicant_is_line_contractor": "true",
        "line_has_tv_contract": "false", "several_contractors": "false", "form_names_line": "true",
        "technically_very_difficult": "false", "in_default_or_likely": "false",
        "likely_to_breach_article_32": "false", "single_use": "true",
        "serious_business_hindrance": "false",
    },
}  # fmt: skip

#: The same grounds as ZEN expressions over the whole context, for the expression-node variant.
ZEN_EXPRESSIONS: dict[str, str] = {
    "outside_service_prefectures": f"not(prefecture in {_quoted(SERVED)})",
    "outside_service_district": f"prefecture in {_quoted(SERVED)} and district_in_area == 'confirmed_outside'",
    "service_district_unconfirmed": f"prefecture in {_quoted(SERVED)} and district_in_area == 'not_confirmed'",
    "line_item_ineligible": "line_item == 'confirmed_ineligible'",
    "line_item_unconfirmed": "line_item == 'not_confirmed'",
    "line_not_designated": "line_designation == 'not_designated'",
    "designation_unknown": "line_designation == 'unknown'",
    "line_already_has_contract": "line_has_tv_contract == true",
    "several_contractors": "several_contractors == true",
    "provided_by_collab_operator": "line_kind == 'collab_via_operator'",
    "form_missing_line_details": "form_names_line == false",
    "applicant_not_line_contractor": "applicant_is_line_contractor == false",
    "technically_very_difficult": "technically_very_difficult == true",
    "in_default_or_likely": "in_default_or_likely == true",
    "likely_to_breach_article_32": "likely_to_breach_article_32 == true",
    "use_beyond_household": "termination_place == 'residential' and use_beyond_household_or_premises == true and bulk_plan == false",
    "use_beyond_premises": "termination_place == 'non_residential' and use_beyond_household_or_premises == true and bulk_plan == false",
    "serious_business_hindrance": "serious_business_hindrance == true",
    "accepted_in_order_of_receipt": (
        f"prefecture in {_quoted(SERVED)} and district_in_area == 'confirmed_inside'"
        " and line_item in ['menu_5_1_200mbps', 'confirmed_eligible'] and line_designation == 'designated'"
        " and line_kind in ['ntt_flets', 'collab_direct'] and applicant_is_line_contractor == true"
        " and line_has_tv_contract == false and several_contractors == false and form_names_line == true"
        " and technically_very_difficult == false and in_default_or_likely == false"
        " and likely_to_breach_article_32 == false"
        " and (use_beyond_household_or_premises == false or bulk_plan == true)"
        " and serious_business_hindrance == false"
    ),
}


def _graph(node: dict[str, Any]) -> dict[str, Any]:
    where = {"x": 0, "y": 0}
    return {
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "request", "position": where},
            {**node, "id": "decide", "name": "decide", "position": where},
            {"id": "response", "type": "outputNode", "name": "response", "position": where},
        ],
        "edges": [
            {"id": "e1", "sourceId": "request", "targetId": "decide", "type": "edge"},
            {"id": "e2", "sourceId": "decide", "targetId": "response", "type": "edge"},
        ],
    }


def zen_table_jdm() -> dict[str, Any]:
    """A JDM graph whose decision table (hit policy ``collect``) lists every ground that applies."""
    inputs = [{"id": cid, "name": cid, "field": expr} for cid, expr in ZEN_COLUMNS.items()]
    rules = [
        {"_id": code, **{cid: cells.get(cid, "") for cid in ZEN_COLUMNS}, "reason": f"'{code}'"}
        for code, cells in ZEN_ROWS.items()
    ]
    return _graph({
        "type": "decisionTableNode",
        "content": {
            "hitPolicy": "collect",
            "inputs": inputs,
            "outputs": [{"id": "reason", "name": "reason", "field": "reason"}],
            "rules": rules,
        },
    })  # fmt: skip


def zen_expression_jdm() -> dict[str, Any]:
    """A JDM graph whose expression node computes every ground as a boolean."""
    expressions = [{"id": code, "key": code, "value": e} for code, e in ZEN_EXPRESSIONS.items()]
    return _graph({"type": "expressionNode", "content": {"expressions": expressions}})


def zen_table_answer(response: Mapping[str, Any]) -> Answer:
    return answer_of(tuple(row["reason"] for row in response["result"]))


def zen_expression_answer(response: Mapping[str, Any]) -> Answer:
    result = response["result"]
    return answer_of(tuple(code for code in REASONS if result[code]))


def jdm_text(graph: Mapping[str, Any]) -> str:
    return json.dumps(graph)
