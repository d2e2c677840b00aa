"""The sales workspace behind the page: situations as data, their forms, one answer per order,
permalinks to recorded answers, and the start page with its search.

:mod:`.situations` is the table of situations; :mod:`.form` builds a situation's form and reads a
submission; :mod:`.answer` answers a whole order through the API's order check; :mod:`.records` shows a
recorded answer again from the decision log. The views are :mod:`webapp.pages`.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.format.sources import SEEDS
from engine.messages import Code, Message, localized
from engine.messages.language import LANGUAGES, Lang

from ..state import get_rulebook, get_tariffs
from .situations import (
    INTENT_TITLES,
    PRODUCT_TITLES,
    SITUATIONS,
    Intent,
    Product,
    Situation,
    product_of,
)


def catalogue_text(code: Code, lang: Lang, **params: object) -> str:
    return localized(Message(code, **params), lang)


def situation_title(situation: Situation, lang: Lang) -> str:
    """A situation's title; a rule set's own page is titled by the rule set."""
    if situation.title is not None:
        return catalogue_text(situation.title, lang)
    return get_rulebook().shown_version(situation.checks[0].ruleset).title(lang)


def source_titles() -> dict[str, str]:
    """Each source document's title by file name: as the rule and tariff files name it, else the
    list of documents that may be cited (file names stay in the API's citations only)."""
    titles = dict(SEEDS)
    for tariff in get_tariffs().tariffs:
        titles.update(dict(tariff.sources))
    for rs in get_rulebook().all_rulesets():
        titles.update({s.file: s.title for s in rs.sources})
    return titles


@dataclass(frozen=True)
class Entry:
    """A link on the start page."""

    href: str
    title: str
    checks: tuple[str, ...]


@dataclass(frozen=True)
class IntentGroup:
    title: str
    entries: list[Entry]


@dataclass(frozen=True)
class ProductGroup:
    id: str
    title: str
    intents: list[IntentGroup]
    singles: list[Entry]


@dataclass(frozen=True)
class StartPage:
    products: list[ProductGroup]
    matches: int


def _searchable(situation: Situation) -> str:
    """Every word a seller might search a situation by, in both languages: its title, its checks'
    titles and questions, its quote items' titles."""
    book = get_rulebook()
    words: list[str] = []
    if situation.title is not None:
        words += [catalogue_text(situation.title, lang) for lang in LANGUAGES]
    for spec in situation.checks:
        rs = book.shown_version(spec.ruleset)
        words += [rs.title(lang) for lang in LANGUAGES]
        words += [f.label(lang) for f in rs.facts for lang in LANGUAGES]
    tariffs = get_tariffs()
    for quote in situation.quotes:
        for tariff in tariffs.versions(quote.tariff)[-1:]:
            words += [tariff.items[quote.item].title(lang) for lang in LANGUAGES]
    return "\n".join(words).casefold()


def _matches(text: str, query: str) -> bool:
    return all(word in text for word in query.casefold().split())


def start_page(lang: Lang, query: str = "") -> StartPage:
    """The situations grouped by product, then by what the customer wants; the rule sets' own pages
    under their product. With ``query``, only the entries whose words contain every word of it."""
    from flask import url_for

    book = get_rulebook()
    products: list[ProductGroup] = []
    matches = 0
    for product in Product:
        intents = []
        for intent in Intent:
            entries = []
            for s in SITUATIONS:
                if s.product is not product or s.intent is not intent:
                    continue
                if query and not _matches(_searchable(s), query):
                    continue
                titles = tuple(book.shown_version(c.ruleset).title(lang) for c in s.checks)
                href = url_for("pages.situation_form", situation_id=s.id)
                entries.append(
                    Entry(href, catalogue_text(s.title or Code.SALES_SEARCH_LABEL, lang), titles)
                )
            if entries:
                intents.append(IntentGroup(catalogue_text(INTENT_TITLES[intent], lang), entries))
        singles = []
        for rid in book.ids():
            rs = book.shown_version(rid)
            if product_of(rid) is not product:
                continue
            text = "\n".join(
                [rs.title(x) for x in LANGUAGES] + [f.label(x) for f in rs.facts for x in LANGUAGES]
            )
            if query and not _matches(text.casefold(), query):
                continue
            singles.append(Entry(url_for("pages.check_form", ruleset_id=rid), rs.title(lang), ()))
        matches += sum(len(i.entries) for i in intents) + len(singles)
        if intents or singles:
            products.append(
                ProductGroup(
                    product.value, catalogue_text(PRODUCT_TITLES[product], lang), intents, singles
                )
            )
    return StartPage(products, matches)
