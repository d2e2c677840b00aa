"""``POST /v1/quotes`` without Flask, and the one renderer of a quote's JSON text.

Pricing a one-line quote takes about 50 µs of CPU, but through Flask the whole request took about
0.5 ms in-process: Flask's request machinery, ``QUOTE_REQUEST.load`` (50 µs) and ``json.dumps``
(30 µs) cost far more than the price, and the quote service served under half the bare Flask
endpoint's rate (docs/benchmarks.md). So the middleware of :mod:`.wsgi` answers a well-formed quote
request itself with :func:`quote_text` (about 0.15 ms in all), and the Flask view
(:func:`webapp.api.quote`) renders with :func:`quote_json` too, so both paths send the same bytes.

What :func:`quote_text` answers is what the view answers: the same schema (``QUOTE_REQUEST``, or
for a plain request :func:`quick_quote_request`, which the view reads with too), the
same engine call (the tariffs of the bundle the request leases), the same language choice
(:func:`webapp.i18n.one_language`). Everything else — a request the schema refuses, fields the
tariffs refuse, no tariffs loaded, a value the fast renderer cannot vouch for — is ``None``: the
middleware hands the request to Flask, which answers it as it always did. A quote logs nothing, so
a request tried here and then handed over has had no effect.
"""

from __future__ import annotations

from typing import Any

import orjson
from marshmallow import ValidationError

from engine.lifecycle.reload import EngineHolder
from engine.messages.language import LANGUAGES, Lang

from ..schemas import QUOTE_REQUEST, QuoteItemSchema
from .envelopes import _day

#: The Flask view this path stands in for, by the name of the call it answers.
QUOTE, QUOTE_VIEW = "quote", "api.quote"

#: The declared fields of a quote request and of its items: no other key is plain.
_QUOTE_KEYS = frozenset(QUOTE_REQUEST.fields)
_ITEM_KEYS = frozenset(QuoteItemSchema().fields)


def quick_quote_request(data: Any) -> dict[str, Any] | None:
    """What ``QUOTE_REQUEST.load(data)`` returns for a plain request — an object of the schema's
    fields whose items are objects of the item schema's fields with string ``tariff`` and ``item``
    and an object of ``params`` if any — else ``None`` (then the schema reads it and names what is
    wrong). ``load`` takes about 50 µs for a one-item request, this under 2 µs."""
    if type(data) is not dict or not data.keys() <= _QUOTE_KEYS:
        return None
    items = data.get("items")
    ok, day = _day(data)
    if type(items) is not list or not items or not ok:
        return None
    loaded: list[dict[str, Any]] = []
    for item in items:
        if type(item) is not dict or not item.keys() <= _ITEM_KEYS:
            return None
        tariff, name = item.get("tariff"), item.get("item")
        if type(tariff) is not str or type(name) is not str:
            return None
        entry: dict[str, Any] = {"tariff": tariff, "item": name}
        if "params" in item:
            params = item["params"]
            if type(params) is not dict:
                return None
            entry["params"] = dict(params)
        loaded.append(entry)
    return {"items": loaded, "as_of": day}


#: The types whose JSON text orjson writes exactly as ``dumps`` does (compact, UTF-8 characters as
#: they are; every code point but the lone surrogates, which orjson refuses, was compared). A float
#: is not among them: orjson writes ``1e-05`` as ``0.00001``.
_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})


class _NotPlain(Exception):
    """A value :func:`quote_json` cannot vouch for."""


def _picked(value: Any, lang: Lang | None) -> Any:
    """``value`` — or, with ``lang``, ``one_language(value, lang)`` — when it holds nothing but dicts,
    lists and :data:`_PLAIN_SCALARS` (exact types: orjson writes a subclass or an enum its own way),
    else :class:`_NotPlain`. One walk both picks the language and checks the types: a quote used to
    be walked twice, which cost a tenth of answering it. Keys are left to orjson, which refuses any
    that is not a string."""
    if type(value) is dict:
        if (
            lang is not None
            and value.keys() == _BOTH
            and all(type(v) is str for v in value.values())
        ):
            return value[lang]
        return {k: v if type(v) in _PLAIN_SCALARS else _picked(v, lang) for k, v in value.items()}
    if type(value) is list:
        return [v if type(v) in _PLAIN_SCALARS else _picked(v, lang) for v in value]
    if type(value) in _PLAIN_SCALARS:
        return value
    raise _NotPlain


#: A text in both languages, as :meth:`engine.messages.language.Text.to_dict` writes it.
_BOTH = frozenset(LANGUAGES)


def quote_json(value: Any, lang: Lang | None = None) -> str | None:
    """``dumps(value)`` — what ``jsonify`` writes, without its newline — or, with ``lang``, ``dumps`` of
    ``one_language(value, lang)`` (:func:`webapp.i18n.one_language`), written by orjson; or ``None``
    when ``value`` holds something orjson may write otherwise (a float, a date, a subclass, a key
    that is no string, an integer beyond 64 bits, a lone surrogate): the caller then answers as
    Flask does."""
    try:
        return orjson.dumps(_picked(value, lang)).decode()
    except (_NotPlain, RecursionError):
        return None
    except TypeError:  # orjson.JSONEncodeError: an integer too large, a key that is no string …
        return None


def quote_text(holder: EngineHolder, data: Any, lang: Lang) -> str | None:
    """The JSON text of the Flask view's answer to the parsed body ``data`` in ``lang``, or
    ``None`` when its answer is not a quote (a problem) or its text is not :func:`quote_json`'s."""
    try:
        envelope = quick_quote_request(data) or QUOTE_REQUEST.load(data)
    except ValidationError:
        return None  # the view's 422, with its messages
    lease = holder.acquire()
    try:
        tariffs = lease.bundle.tariffs
        if tariffs is None:
            return None  # the view's 503
        try:
            # what webapp.orders.quote asks of the tariffs, for a request the schema loaded
            priced = tariffs.quote(dict(data), envelope["as_of"])
        except Exception:  # noqa: BLE001 — refused fields (422) or a failure (500): the view's
            return None
    finally:
        lease.release()
    return quote_json(priced, lang)
