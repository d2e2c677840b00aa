"""The API's documentation: the OpenAPI document, a self-contained HTML reading of it, problem types.

No JavaScript and no CDN (the service runs without internet): ``/docs`` renders the generated document
server-side, operation by operation and schema by schema.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from engine.messages.language import Text

from .i18n import page_lang
from .openapi import current_spec
from .problems import PROBLEM_TYPES, Problem

bp = Blueprint("docs", __name__)

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(current_spec())


@bp.get("/docs")
def docs_page() -> str:
    spec = current_spec()
    operations = [
        {"method": method.upper(), "path": path, **operation}
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    return render_template(
        "docs.html",
        spec=spec,
        operations=operations,
        problem_types=PROBLEM_TYPES.values(),
        lang=page_lang(),
    )


@bp.get("/problems/<slug>")
def problem_type(slug: str) -> str:
    """Each problem ``type`` URI is a real page explaining that problem."""
    kind = PROBLEM_TYPES.get(slug)
    if kind is None:
        raise Problem(
            "not-found", Text(f"問題種別 {slug!r} はありません。", f"No problem type {slug!r}.")
        )
    return render_template("problem_type.html", kind=kind, lang=page_lang())
