"""Everything in the web layer that exists only for speed, and the one contract all of it keeps.

Nearly every request an order system sends is a plain ``POST /v1/rulesets/<id>/evaluate`` or
``…/evaluate-batch``. For those, Flask's request machinery, marshmallow and ``json.dumps`` of whole
decisions cost more than deciding and logging (docs/benchmarks.md, section 3), so three twins stand
in for them:

* :mod:`.wsgi` — WSGI middleware in front of the Flask app that answers the common case itself;
* :mod:`.envelopes` — the plain request envelopes read without marshmallow;
* :mod:`.render` — a decision's JSON text from fragments cached per answer, and a batch's JSON text
  spliced from its items' text;
* :mod:`.quotes` — ``POST /v1/quotes`` priced without Flask (a quote logs nothing), its request read
  without marshmallow, and its JSON text written by orjson for both paths.

**The contract.** A twin takes only a part of what its original takes, and for that part gives
exactly the original's result; everything else goes to the original, unchanged. In particular:

* For every request, the app with the fast path answers with the same status, headers and body
  bytes, writes the same decision-log rows and the same access-log line as the app without it
  (``FAST_PATH = False``, ``FLETS_FAST_PATH=false``). The middleware hands a request on (to the
  screen of :mod:`webapp.inputs`, then Flask) before anything is logged, the body bytes put back,
  unless every rule of the request format holds (the screen's UTF-8 checks included); it
  reads each rule where the Flask views read it (the routes from Flask's URL map, the token check of
  :mod:`webapp.auth`, the limits' config keys and the answer's headers of :mod:`webapp.decisions`,
  the explain levels of :mod:`webapp.schemas`, :func:`webapp.i18n.lang_for`, the request id and
  access log of :mod:`webapp.observability`). Once a decision is logged it never hands over: a
  failure becomes Flask's 500 problem, so nothing is logged twice.
* ``quick_evaluate_request(data)`` and ``quick_batch_request(data)`` are ``None`` or exactly what
  ``EVALUATE_REQUEST.load(data)`` / ``BATCH_REQUEST.load(data)`` return; the keys they accept are
  the schemas' declared fields, but for a partial answer's ``unknown`` (``schemas.PARTIAL_FIELDS``).
* Every text :mod:`.render` returns is exactly ``dumps`` of the plain value its function names
  (compact, UTF-8 characters as they are: what Flask writes).
* ``quick_quote_request(data)`` is ``None`` or exactly what ``QUOTE_REQUEST.load(data)`` returns,
  and ``quote_json(value)`` is ``None`` or exactly ``dumps(value)`` (``jsonify``'s text).

The views and the middleware share :mod:`.envelopes`, :mod:`.render` and :mod:`.quotes`, so those
hold for both paths. ``tests/webapp/test_fast.py`` proves the contract: one harness sends each
request of a table (and random ones) to an app with the fast path and one without it, envelopes
generated from the schemas' fields are read both ways, and every rule set's examples are rendered
both ways; ``tests/webapp/test_fast_quotes.py`` does the same for every tariff example.
"""
