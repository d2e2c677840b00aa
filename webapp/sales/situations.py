"""The situations of the sales workspace, as data: one entry per thing a customer comes in for.

A situation names the checks an order needs (rule sets, some only when a page answer says so), the
tariff items it prices, and how page answers map onto facts (a question two rule sets share is asked
once). Every page is rendered from this table by one view; a rule set without a situation still has
its own page (:func:`single_check`). Titles are catalogue codes; everything else the page says comes
from the rule and tariff files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from engine.messages import Code


class Product(StrEnum):
    TV = "tv"
    PASSPORT = "passport"
    COLLAB = "collab"
    JOINT = "joint"
    MATOMETE = "matomete"


class Intent(StrEnum):
    APPLY = "apply"
    MOVE = "move"
    CHANGE = "change"
    CANCEL = "cancel"
    PRICE = "price"


PRODUCT_TITLES: Mapping[Product, Code] = MappingProxyType(
    {
        Product.TV: Code.SALES_PRODUCT_TV,
        Product.PASSPORT: Code.SALES_PRODUCT_PASSPORT,
        Product.COLLAB: Code.SALES_PRODUCT_COLLAB,
        Product.JOINT: Code.SALES_PRODUCT_JOINT,
        Product.MATOMETE: Code.SALES_PRODUCT_MATOMETE,
    }
)
INTENT_TITLES: Mapping[Intent, Code] = MappingProxyType(
    {
        Intent.APPLY: Code.SALES_INTENT_APPLY,
        Intent.MOVE: Code.SALES_INTENT_MOVE,
        Intent.CHANGE: Code.SALES_INTENT_CHANGE,
        Intent.CANCEL: Code.SALES_INTENT_CANCEL,
        Intent.PRICE: Code.SALES_INTENT_PRICE,
    }
)
#: Which product a rule set or tariff id belongs to, by its prefix (for the single-check pages).
PRODUCT_OF_PREFIX: Mapping[str, Product] = MappingProxyType(
    {
        "tv_": Product.TV,
        "passport_": Product.PASSPORT,
        "collab_": Product.COLLAB,
        "joint_": Product.JOINT,
        "flets_joint": Product.JOINT,
        "matomete_": Product.MATOMETE,
    }
)


@dataclass(frozen=True)
class When:
    """A check or a quote item that applies only when the page's answer to ``ruleset.fact`` is
    ``value`` (the bulk-building plan check, only when the plan is asked for)."""

    ruleset: str
    fact: str
    value: str


@dataclass(frozen=True)
class CheckSpec:
    """One rule set the situation decides. ``same_as`` maps a fact to the ``ruleset.fact`` question
    whose answer it takes, so the customer is asked once."""

    ruleset: str
    when: When | None = None
    same_as: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QuoteSpec:
    """One tariff item the situation prices (when the seller ticks it). ``instead`` lists, for a
    parameter in the seller's terms, the parameters it replaces: they are not asked when the item
    declares it (``starts_at`` instead of a time-slot code and a work date)."""

    tariff: str
    item: str
    when: When | None = None
    instead: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


#: Parameters in the seller's terms that replace codes, for every item that declares them.
SELLER_TERMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"starts_at": ("time_slot", "work_date")}
)


@dataclass(frozen=True)
class Situation:
    id: str
    product: Product
    intent: Intent
    title: Code | None
    checks: tuple[CheckSpec, ...]
    quotes: tuple[QuoteSpec, ...] = ()

    def prefix(self, ruleset_id: str) -> str:
        """The prefix of a check's field names: none on a page of one check (its fields are named
        as the facts, as an order system would send them), else ``<ruleset>.``."""
        return "" if len(self.checks) == 1 else f"{ruleset_id}."

    def field(self, reference: str) -> str:
        """The form field of a ``ruleset.fact`` reference."""
        ruleset_id, fact = reference.split(".", 1)
        return self.prefix(ruleset_id) + fact


_BULK = When("tv_application", "bulk_plan", "true")

SITUATIONS: tuple[Situation, ...] = (
    Situation(
        "tv-new",
        Product.TV,
        Intent.APPLY,
        Code.SALES_SIT_TV_NEW,
        (
            CheckSpec("tv_application"),
            CheckSpec("tv_bulk_plan", _BULK, {"line_kind": "tv_application.line_kind"}),
        ),
        (
            QuoteSpec("tv_transport", "construction"),
            QuoteSpec("tv_transport", "monthly_fee"),
            QuoteSpec("tv_transport", "bulk_plan_monthly", _BULK),
        ),
    ),
    Situation(
        "tv-charges",
        Product.TV,
        Intent.PRICE,
        Code.SALES_SIT_TV_CHARGES,
        (),
        tuple(
            QuoteSpec("tv_transport", item)
            for item in (
                "construction",
                "monthly_fee",
                "invoice_fees",
                "outage_credit",
                "late_interest",
                "payment_certificate",
                "evasion_surcharge",
            )
        ),
    ),
    Situation(
        "tv-operator-change",
        Product.TV,
        Intent.CHANGE,
        Code.SALES_SIT_TV_OPERATOR_CHANGE,
        (CheckSpec("tv_operator_change"),),
        (QuoteSpec("tv_transport", "operator_change_fee"),),
    ),
    Situation(
        "tv-conversion",
        Product.TV,
        Intent.CHANGE,
        Code.SALES_SIT_TV_CONVERSION,
        (CheckSpec("tv_conversion"),),
    ),
    Situation(
        "tv-transfer",
        Product.TV,
        Intent.CHANGE,
        Code.SALES_SIT_TV_TRANSFER,
        (CheckSpec("tv_transfer"),),
    ),  # fmt: skip
    Situation(
        "tv-bulk-units",
        Product.TV,
        Intent.CHANGE,
        Code.SALES_SIT_TV_BULK_UNITS,
        (CheckSpec("tv_bulk_plan_unit_change"),),
        (QuoteSpec("tv_transport", "bulk_plan_monthly"),),
    ),
    Situation(
        "tv-bulk-end",
        Product.TV,
        Intent.CANCEL,
        Code.SALES_SIT_TV_BULK_END,
        (CheckSpec("tv_bulk_plan_abolition"),),
        (QuoteSpec("tv_transport", "bulk_plan_early_abolition"),),
    ),
    Situation(
        "tv-pause",
        Product.TV,
        Intent.CANCEL,
        Code.SALES_SIT_TV_PAUSE,
        (CheckSpec("tv_interruption"),),
    ),  # fmt: skip
    Situation(
        "tv-stop",
        Product.TV,
        Intent.CANCEL,
        Code.SALES_SIT_TV_STOP,
        (CheckSpec("tv_suspension"), CheckSpec("tv_termination")),
    ),
    Situation(
        "passport-move",
        Product.PASSPORT,
        Intent.MOVE,
        Code.SALES_SIT_PASSPORT_MOVE,
        (CheckSpec("passport_continuation"),),
    ),
    Situation(
        "passport-use",
        Product.PASSPORT,
        Intent.APPLY,
        Code.SALES_SIT_PASSPORT_USE,
        (
            CheckSpec("passport_availability"),
            CheckSpec(
                "passport_purchase",
                same_as={
                    "line_provider": "passport_availability.line_provider",
                    "id_status": "passport_availability.id_status",
                },
            ),
        ),
        (
            QuoteSpec("passport_id_purchases", "monthly_flat"),
            QuoteSpec("passport_id_purchases", "per_use"),
        ),
    ),
    Situation(
        "passport-billing",
        Product.PASSPORT,
        Intent.CHANGE,
        Code.SALES_SIT_PASSPORT_BILLING,
        (CheckSpec("passport_billing_number_change"),),
    ),
    Situation(
        "collab-order",
        Product.COLLAB,
        Intent.APPLY,
        Code.SALES_SIT_COLLAB_ORDER,
        (CheckSpec("collab_order"),),
    ),  # fmt: skip
    Situation(
        "collab-conversion",
        Product.COLLAB,
        Intent.CHANGE,
        Code.SALES_SIT_COLLAB_CONVERSION,
        (CheckSpec("collab_conversion"),),
    ),
    Situation(
        "collab-operator-change",
        Product.COLLAB,
        Intent.CHANGE,
        Code.SALES_SIT_COLLAB_OPERATOR_CHANGE,
        (CheckSpec("collab_operator_change"),),
    ),
    Situation(
        "collab-screening",
        Product.COLLAB,
        Intent.APPLY,
        Code.SALES_SIT_COLLAB_SCREENING,
        (CheckSpec("collab_operator_screening"),),
    ),
    Situation(
        "joint-apply",
        Product.JOINT,
        Intent.APPLY,
        Code.SALES_SIT_JOINT_APPLY,
        (CheckSpec("joint_eligibility"),),
        tuple(
            QuoteSpec("flets_joint", item)
            for item in ("base_fee", "per_target_fee", "contract_fee", "construction")
        ),
    ),
    Situation(
        "matomete-merchant",
        Product.MATOMETE,
        Intent.APPLY,
        Code.SALES_SIT_MATOMETE_MERCHANT,
        (CheckSpec("matomete_merchant"),),
        (QuoteSpec("matomete_merchant_fee", "merchant_fee"),),
    ),
)

BY_ID: Mapping[str, Situation] = MappingProxyType({s.id: s for s in SITUATIONS})


def product_of(ruleset_id: str) -> Product:
    return next(p for prefix, p in PRODUCT_OF_PREFIX.items() if ruleset_id.startswith(prefix))


def single_check(ruleset_id: str) -> Situation:
    """The page of one rule set: its check alone (and the quote a situation of the same rule set
    prices, when there is one)."""
    quotes = next(
        (s.quotes for s in SITUATIONS if [c.ruleset for c in s.checks] == [ruleset_id]), ()
    )
    return Situation(
        f"check-{ruleset_id}",
        product_of(ruleset_id),
        Intent.APPLY,
        None,
        (CheckSpec(ruleset_id),),
        quotes,
    )
