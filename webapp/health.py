"""Liveness and readiness for the process manager and load balancer.

``/readyz`` is ready only when a decision could be answered: a rulebook with rule sets is loaded and
the decision log could take the decision's entry now. A service that would refuse every decision
with 503 (its log folder removed, its database unreachable) is not ready, so a load balancer stops
sending it decisions; it becomes ready again by itself once the log is back.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from engine.lifecycle.decision_log import AuditError
from engine.messages import Code, Message

from . import metrics as instruments
from .auth import require_token
from .problems import Problem
from .state import current_state, get_rulebook, loaded_tariffs

bp = Blueprint("health", __name__)

#: Optional bearer token a scrape must send (``FLETS_METRICS_TOKEN``); unset: open, like /healthz.
METRICS_TOKEN = "METRICS_TOKEN"

log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Alive: the process answers. Says nothing about rules on purpose."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready: the rulebook holds at least one rule set and the decision log can be written.

    A failed check answers 503 ``not-ready`` naming the check (``checks``); why the log failed goes
    to the server's log only, as it names files.
    """
    rulesets = len(get_rulebook().ids())
    if not rulesets:
        raise Problem(
            "not-ready",
            Message(Code.RULES_NOT_LOADED),
            extra={"checks": {"rules": "none loaded", "decision_log": "not checked"}},
        )
    try:
        current_state().decision_log.check()
    except AuditError as exc:
        log.error("not ready: %s", exc)
        raise Problem(
            "not-ready",
            Message(Code.DECISION_LOG_NOT_READY),
            extra={"checks": {"rules": "ok", "decision_log": "unavailable"}},
        ) from None
    tariffs = loaded_tariffs()
    return jsonify(
        {
            "status": "ready",
            "rulesets": rulesets,
            "tariffs": None if tariffs is None else len(tariffs.list()),
            "checks": {"rules": "ok", "decision_log": "ok"},
        }
    )


@bp.get("/metrics")
def metrics() -> Response:
    """Every metric of :mod:`webapp.metrics`, in Prometheus's text format (docs/operations.md)."""
    token = current_app.config.get(METRICS_TOKEN)
    if token:
        require_token(token, "/metrics")
    # This worker's log backlog as of now (the others' as of their last decision or scrape).
    instruments.observe_log_backlog(current_state().decision_log.backlog, now=True)
    return Response(generate_latest(instruments.registry()), content_type=CONTENT_TYPE_LATEST)
