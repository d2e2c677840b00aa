"""The baseline for bench/http_load.py: a bare Flask JSON endpoint, served by gunicorn exactly like the service."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/echo")
    def echo() -> Response:
        body = request.get_json()
        return jsonify({"ok": True, "fields": len(body) if isinstance(body, dict) else 0})

    return app
