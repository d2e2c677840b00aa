"""Every relative link and picture in the docs points at a file that exists (README.md, docs/*.md).

The browser tests write the screenshots the docs show only when they are missing (a run never rewrites
a committed picture), so a renamed page or situation would leave a doc pointing at nothing: this
catches it without a browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.paths import PROJECT_ROOT

DOCS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
#: ``[text](target)`` and ``![alt](target)``; the target up to a space (a title) or the parenthesis.
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)")


def _targets(doc: Path) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks show syntax, not links
    return [t for t in _LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_relative_link_points_at_a_file(doc: Path) -> None:
    missing = [
        target
        for target in _targets(doc)
        if (path := target.split("#", 1)[0]) and not (doc.parent / path).exists()
    ]
    assert missing == [], f"{doc.relative_to(PROJECT_ROOT)}: {missing}"


def test_the_docs_show_pictures() -> None:
    pictures = [t for doc in DOCS for t in _targets(doc) if t.endswith(".png")]
    assert len(pictures) > 20
