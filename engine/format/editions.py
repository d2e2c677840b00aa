"""Editions of a source document: where each indexed clause lies in the plain text, its fingerprint,
and what changed between the edition the index was made from and a new one.

The text is compared in one normal form (:func:`normal_text`): NFKC and no whitespace at all, so a line
wrapped elsewhere or a full-width digit typed half-width is the same text. Each clause is located by its
``anchor`` (or, without one, its id) at the start of a line, searching forward from the clause before
it; a clause's text runs to the next located clause. Its fingerprint is the SHA-256 of that text: the
index keeps the digest, never the text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from itertools import pairwise

from .clauses import Clause, ClauseIndex
from .loader import MarkedDict

#: Lines of a new edition that look like the start of a clause ("第9条", "別記15", "◆…", "3．…",
#: "第4表", "(参考)"): one no indexed clause starts on is reported as added. Notes and bullets (※, ◼)
#: are too common in tables and figures to be told apart from a new clause; a new one shows as a
#: change of the clause it falls in.
_HEADING = re.compile(r"^(第\d+条(?:の\d+)?|別記\d+|◆|\d{1,2}\.(?![\d.])|第\d+表|\(参考\))")
#: A wrapped line that starts with a reference, not a heading: "別記15に定める…", "第2表(…)に定める…".
_REFERENCE = re.compile(
    r"^(第\d+条(?:の\d+)?|別記\d+|第\d+表)(\([^)]*\))?(に|の|を|及び|又は|と|で|が|は|により|まで)"
)
#: What a contents line adds to a heading: the page number and its leader ("◆…------ 21").
_PAGE_REFERENCE = re.compile(r"[-\d]*$")
_PARAGRAPH = re.compile(r"^(\d+)項$")
_ITEM = re.compile(r"^\((\d+)\)号$")


def normal_text(text: str) -> str:
    """NFKC without whitespace: the form clause texts are compared and digested in."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def digest(text: str) -> str:
    """``sha256:<hex>`` of a clause's normal text."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Edition:
    """A plain-text edition in normal form, remembering where each line starts."""

    text: str
    line_starts: tuple[int, ...]
    raw_lines: tuple[str, ...]
    starts_set: frozenset[int] = frozenset()

    @classmethod
    def read(cls, text: str) -> Edition:
        parts: list[str] = []
        starts: list[int] = []
        raw: list[str] = []
        offset = 0
        for line in text.splitlines():
            normal = normal_text(line)
            if not normal:
                continue
            starts.append(offset)
            raw.append(line.strip())
            parts.append(normal)
            offset += len(normal)
        return cls("".join(parts), tuple(starts), tuple(raw), frozenset(starts))

    def find(self, needle: str, start: int) -> int | None:
        """The first offset at or after ``start`` where a line starts with ``needle``, else the first
        place it occurs at all after ``start``; None when it does not occur after ``start``."""
        if not needle:
            return None
        anywhere = None
        at = self.text.find(needle, start)
        while at != -1:
            if at in self.starts_set:
                return at
            if anywhere is None:
                anywhere = at
            at = self.text.find(needle, at + 1)
        return anywhere

    def line_number(self, offset: int) -> int:
        """The index (0-based, among non-blank lines) of the line holding ``offset``."""
        low, high = 0, len(self.line_starts) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if self.line_starts[middle] <= offset:
                low = middle
            else:
                high = middle - 1
        return low


def _markers(clause: Clause) -> list[str]:
    """How a clause without an anchor is found: its id as written, else its id's parts one after the
    other ("第8条 2項 (5)号" → "第8条", then a line starting "2", then "(5)")."""
    tokens = clause.id.split()
    found = []
    for token in tokens:
        paragraph, item = _PARAGRAPH.match(normal_text(token)), _ITEM.match(normal_text(token))
        if paragraph:
            found.append(paragraph.group(1))
        elif item:
            found.append(f"({item.group(1)})")
        else:
            found.append(normal_text(token))
    return found


def _follow(edition: Edition, markers: list[str], start: int) -> int | None:
    """Where the last of ``markers`` is found, each searched after the one before."""
    at: int | None = start
    for marker in markers:
        at = edition.find(marker, at) if at is not None else None
    return at


def _locate_one(edition: Edition, clause: Clause, cursor: int) -> int | None:
    """Where ``clause`` starts: its anchor, else its id as written, else its id's parts in turn;
    searched after the clause before it, then from the top (an index out of the text's order)."""
    if clause.anchor:
        ways = [[normal_text(clause.anchor)]]
    else:
        ways = [[normal_text(clause.id)], _markers(clause)]
    for start in (cursor, 0):
        for markers in ways:
            at = _follow(edition, markers, start)
            if at is not None:
                return at
    return None


def locate(index: ClauseIndex, edition: Edition) -> dict[str, int]:
    """Where each clause of ``index`` starts in ``edition`` (clauses not found are left out)."""
    found: dict[str, int] = {}
    cursor = 0
    for clause in index.clauses:
        at = _locate_one(edition, clause, cursor)
        if at is not None:
            found[clause.id] = at
            cursor = at
    return found


def clause_texts(index: ClauseIndex, edition: Edition) -> dict[str, str]:
    """The normal text of each located clause: from where it starts to where the next one starts."""
    starts = locate(index, edition)
    bounds = sorted(set(starts.values())) + [len(edition.text)]
    following = dict(pairwise(bounds))
    return {cid: edition.text[at : following[at]] for cid, at in starts.items()}


def fingerprints(index: ClauseIndex, text: str) -> dict[str, str]:
    """The fingerprint of each clause of ``index`` that can be located in ``text``."""
    return {cid: digest(body) for cid, body in clause_texts(index, Edition.read(text)).items()}


@dataclass(frozen=True)
class Added:
    """A line of the new edition that looks like a clause heading where no indexed clause starts."""

    line: str
    within: str | None  # the indexed clause whose text it falls in


@dataclass(frozen=True)
class EditionDiff:
    """What a new edition adds, removes and changes against the fingerprints of the index."""

    added: tuple[Added, ...]
    removed: tuple[Clause, ...]
    changed: tuple[Clause, ...]
    unchanged: int
    unfingerprinted: tuple[Clause, ...]


def compare(index: ClauseIndex, text: str) -> EditionDiff:
    """Compare a new edition's text with the fingerprints kept in ``index``."""
    edition = Edition.read(text)
    starts = locate(index, edition)
    bodies = clause_texts(index, edition)
    removed, changed, unfingerprinted = [], [], []
    unchanged = 0
    for clause in index.clauses:
        if clause.id not in starts:
            removed.append(clause)
        elif clause.fingerprint is None:
            unfingerprinted.append(clause)
        elif digest(bodies[clause.id]) != clause.fingerprint:
            changed.append(clause)
        else:
            unchanged += 1
    occupied = {edition.line_number(at) for at in starts.values()}
    # A heading the index already names (a contents line, a chapter title in an id) is not new.
    named = "\n".join(normal_text(c.anchor or "") + "\n" + normal_text(c.id) for c in index.clauses)
    ordered = sorted(starts.items(), key=lambda item: item[1])
    added = []
    for number, line_start in enumerate(edition.line_starts):
        line_end = (
            edition.line_starts[number + 1] if number + 1 < len(edition.line_starts) else None
        )
        line = edition.text[line_start:line_end]
        if number in occupied or not _HEADING.match(line) or _REFERENCE.match(line):
            continue
        title = _PAGE_REFERENCE.sub("", line).removeprefix("◆")
        if title and title in named:
            continue
        within = next((cid for cid, at in reversed(ordered) if at <= line_start), None)
        added.append(Added(edition.raw_lines[number][:60], within))
    return EditionDiff(
        tuple(added), tuple(removed), tuple(changed), unchanged, tuple(unfingerprinted)
    )


def write_fingerprints(text: str, raw: object, prints: dict[str, str]) -> str:
    """The index file ``text`` (loaded as ``raw``) with each clause's ``fingerprint:`` set to
    ``prints[id]``: an existing line is rewritten, else one is added under the clause's ``id:`` line.

    An edit of the text, not a new dump, so the file keeps its comments, order and wrapping; clauses
    must be written in block style (``- id: …`` on its own line).
    """
    lines = text.split("\n")
    edits: list[tuple[int, bool, str]] = []  # (0-based line, replace?, new line)
    clauses = raw.get("clauses") if isinstance(raw, dict) else None
    for entry in clauses if isinstance(clauses, list) else []:
        if not isinstance(entry, MarkedDict) or entry.get("id") not in prints:
            continue
        value = f'fingerprint: "{prints[str(entry["id"])]}"'
        if "fingerprint" in entry:
            where = entry.where("fingerprint")
            edits.append((where.line - 1, True, " " * (where.column - 1) + value))
        else:
            where = entry.where("id")
            edits.append((where.line, False, " " * (where.column - 1) + value))
    for line, replace, new in sorted(edits, reverse=True):
        if replace:
            lines[line] = new
        else:
            lines.insert(line, new)
    return "\n".join(lines)
