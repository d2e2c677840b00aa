"""Liveness and readiness for the process manager and load balancer."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from engine.messages.language import Text

from .problems import Problem
from .state import get_rulebook, loaded_tariffs

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Alive: the process answers. Says nothing about rules on purpose."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready: the rulebook is loaded and holds at least one rule set."""
    if not get_rulebook().ids():
        raise Problem(
            "not-ready", Text("判定ルールが読み込まれていません。", "No rule sets are loaded.")
        )
    tariffs = loaded_tariffs()
    return jsonify(
        {
            "status": "ready",
            "rulesets": len(get_rulebook().ids()),
            "tariffs": None if tariffs is None else len(tariffs.list()),
        }
    )
