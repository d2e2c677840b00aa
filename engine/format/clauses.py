"""The clause index of a source document, and what a citation's clause text points at.

Each source document has an index file (``sources/<seed stem>.yaml``) listing its clauses: an id, a
heading in our own words, a status and, for a revised edition, a fingerprint of the clause's text. A
citation's ``clause`` is free text written by people ("第5条 3項; 第8条 2項 (1)号", "第21条2(3) 表2欄、
第29条3", "５．◼2点目; ※1"): :meth:`ClauseIndex.resolve` cuts it into parts and gives each part the
LONGEST index id it starts with, after one normalisation of both sides (:func:`clause_key`).

The file is read with the one checker (:class:`~engine.format.checker.Checker`), so its mistakes are
reported as ``file:line:column: code: message`` like a rule file's. Which rules cite which clause is not
written here: it is derived from the citations (``engine.lifecycle.coverage``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import Diagnostic, SourceLocation, ValidationError
from ..messages.language import Text
from .checker import Checker
from .loader import MarkedDict, read_yaml_file, yaml_files
from .sources import SEEDS

ClauseStatus = Literal["encoded", "gap", "not_a_rule"]
#: encoded: a rule, consequence, default, reading or tariff item/figure cites it; gap: the sources omit
#: or lose it and an undecidable answer or unpriceable item cites it; not_a_rule: nothing to encode.
STATUSES: tuple[ClauseStatus, ...] = ("encoded", "gap", "not_a_rule")

#: The shortest id found inside a part's text rather than at its start.
_MENTION_MIN = 5
_FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}$")
_CLAUSE_KEYS = {
    "id": True,
    "heading": True,
    "status": True,
    "reason": False,
    "anchor": False,
    "fingerprint": False,
}

# --- normalising a clause reference ---------------------------------------------------------------

#: Brackets inside which a clause text is never cut into parts (quotes and asides are one piece).
_OPENERS = {"(": ")", "「": "」", "『": "』", "【": "】", "≪": "≫", "[": "]", "〈": "〉", "“": "”"}
#: What separates two references in one citation ("第4条; 別記1", "通則5、通則10", "1項・2項"); so does
#: a と after a quotation (:func:`_joins`).
_SEPARATORS = frozenset(";、,・/")
_ARTICLE_PARAGRAPH = re.compile(r"(第\d+条(?:の\d+)?) ?(\d+)(?![\d項])")
_PARAGRAPH_ITEM = re.compile(r"(\d+項) ?\((\d+)\)(?!号)")
#: Brackets that only mark a title or a quotation: "【別紙1】(1)" ≡ "別紙1 (1)", "表「利用条件」" ≡ "表 利用条件".
_DROPPED = str.maketrans("", "", "【】「」『』")
_SPACE_NOT_BETWEEN_DIGITS = re.compile(r"(?<=\D) | (?=\D)")


def clause_key(text: str) -> str:
    """The comparable form of a clause reference: what an index id and a citation part are matched by.

    NFKC (full-width digits and brackets become ASCII: "５．" ≡ "5."), 【】「」『』 dropped ("【別紙1】(1)"
    ≡ "別紙1 (1)"), whitespace removed except between two digits ("第11条の2 1項" is not "第11条の21項"),
    "第27条3" ≡ "第27条 3項" and "2項(3)" ≡ "2項 (3)号".
    """
    key = unicodedata.normalize("NFKC", text)
    key = re.sub(r"\s+", " ", key.translate(_DROPPED)).strip()
    key = _SPACE_NOT_BETWEEN_DIGITS.sub("", key)
    key = _ARTICLE_PARAGRAPH.sub(r"\1\2項", key)
    key = _PARAGRAPH_ITEM.sub(r"\1(\2)号", key)
    return _SPACE_NOT_BETWEEN_DIGITS.sub("", key)  # "第4条4 4" → "第4条4項 4" → "第4条4項4"


def split_parts(text: str) -> list[tuple[str, str]]:
    """``text`` (NFKC) cut at the separators outside brackets: ``[(separator before, segment)]``."""
    normal = unicodedata.normalize("NFKC", text)
    segments: list[tuple[str, str]] = []
    closers: list[str] = []
    separator, start = "", 0
    for i, char in enumerate(normal):
        if char in _OPENERS:
            closers.append(_OPENERS[char])
        elif closers and char == closers[-1]:
            closers.pop()
        elif not closers and (char in _SEPARATORS or _joins(normal, i)):
            segments.append((separator, normal[start:i]))
            separator, start = char, i + 1
    segments.append((separator, normal[start:]))
    return [(sep, seg) for sep, seg in segments if seg.strip() or sep == ""]


def _joins(text: str, at: int) -> bool:
    """Whether the と at ``at`` joins two references ("表「利用条件」と ※1"), not two words of one."""
    return (
        text[at] == "と"
        and 0 < at < len(text) - 1
        and text[at - 1] in "」』)】"
        and text[at + 1].isspace()
    )


def _boundary(key: str, part: str) -> bool:
    """Whether ``key``, a prefix of ``part``, ends where a clause reference can end: "第1条" is not
    the start of "第10条", nor "第11条" of "第11条の2"."""
    if len(part) == len(key):
        return True
    after = part[len(key)]
    if key[-1].isdigit() and after.isdigit():
        return False
    return not (key.endswith("条") and after == "の")


def _script(char: str) -> str:
    """The script a character is written in: a word does not change script ("表紙", "イ括弧")."""
    if not unicodedata.category(char).startswith("L"):
        return ""
    name = unicodedata.name(char, "")
    return next((s for s in ("CJK", "KATAKANA", "HIRAGANA") if name.startswith(s)), "LATIN")


def _word_ends(key: str, part: str) -> bool:
    """Whether ``key`` ends where a word of ``part`` ends (not "表" of "表紙", but "イ" of "イ括弧書き"):
    the stricter test for ids found by guessing left-out words or inside a part's text."""
    if len(part) == len(key):
        return True
    after = _script(part[len(key)])
    return not after or after != _script(key[-1])


# --- the index ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    """One clause of a source document as the index lists it."""

    id: str
    key: str
    heading: Text
    status: ClauseStatus
    location: SourceLocation
    reason: Text | None = None
    anchor: str | None = None
    fingerprint: str | None = None


@dataclass(frozen=True)
class Part:
    """One reference of a citation and the clause it resolves to."""

    text: str
    clause: Clause


@dataclass(frozen=True)
class ClauseIndex:
    """The clauses of one source document, in the document's order."""

    source: str
    file: str  # as diagnostics name it
    clauses: tuple[Clause, ...]
    path: str = ""  # where it is read from (``file`` may be relative to the project)
    _by_key: dict[str, Clause] = field(default_factory=dict, compare=False, repr=False)
    _parents: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    _containers: tuple[tuple[str, tuple[str, ...]], ...] = field(
        default=(), compare=False, repr=False
    )

    def __post_init__(self) -> None:
        self._by_key.update({c.key: c for c in self.clauses})
        parents = {a.key for a in self.clauses for b in self.clauses if self._within(b.key, a)}
        object.__setattr__(self, "_parents", frozenset(parents))
        # The leading words of each id ("料金表", "料金表 第1表", …) with the key of each word.
        containers: dict[str, tuple[str, ...]] = {}
        for clause in self.clauses:
            words = clause.id.split()
            for n in range(2, len(words)):
                containers[clause_key(" ".join(words[:n]))] = tuple(map(clause_key, words[:n]))
        object.__setattr__(self, "_containers", tuple(containers.items()))

    def _within(self, key: str, parent: Clause) -> bool:
        return key != parent.key and key.startswith(parent.key) and _boundary(parent.key, key)

    def clause(self, clause_id: str) -> Clause | None:
        return self._by_key.get(clause_key(clause_id))

    def longest(self, key: str) -> Clause | None:
        """The clause with the longest id ``key`` starts with (at a boundary), if any."""
        for end in range(len(key), 0, -1):
            found = self._by_key.get(key[:end])
            if found is not None and _boundary(found.key, key):
                return found
        return None

    def ancestors(self, clause: Clause) -> list[Clause]:
        """The clauses ``clause``'s id starts with, longest first."""
        found = [c for c in self.clauses if self._within(clause.key, c)]
        return sorted(found, key=lambda c: len(c.key), reverse=True)

    def _read(self, key: str, previous: Clause | None) -> tuple[int, Clause] | None:
        """A part's clause and how surely it was found (0 is surest): read directly, else inside the
        previous part's parents ("５．◼2点目; ※1" → "５．※1"), else under leading words left out
        ("第1表 1(3)イ" → "料金表 第1表 1(3)イ"), else as the first id it mentions."""
        direct = self.longest(key)
        if direct is not None:
            return 0, direct
        found = self._inside(key, previous) if previous is not None else None
        if found is not None:
            return 1, found
        found = self._left_out(key, first=previous is None)
        if found is not None:
            return 2, found
        found = self._mentioned(key)
        return (3, found) if found is not None else None

    def _inside(self, key: str, previous: Clause) -> Clause | None:
        """``key`` inside the parents of the previous part, indexed or not ("第16条 1項・2項")."""
        for end in range(len(previous.key) - 1, 0, -1):
            context = previous.key[:end]
            if not _boundary(context, previous.key):
                continue
            found = self.longest(context + key)
            if (
                found is not None
                and len(found.key) > len(context)
                and _word_ends(found.key, context + key)
            ):
                return found
        return None

    def _left_out(self, key: str, first: bool) -> Clause | None:
        """``key`` under words it leaves out: the longest gain over any parent (for a first part
        only: after another part, "…◼3点目; ※移転…" is not "１．※"), or over an id's leading words
        when ``key`` starts with a later one of them ("利用料金別表 (3)コ" → "料金表 利用料金別表
        建物一括契約型料金 (3)コ")."""
        candidates: list[tuple[str, str]] = []
        if first:
            candidates += [(p.key, p.key + key) for p in self.clauses if p.key in self._parents]
        for container, words in self._containers:
            for word in words[1:]:
                if word and key.startswith(word) and _boundary(word, key):
                    candidates.append((container, container + key[len(word) :]))
        best: tuple[int, Clause] | None = None
        for parent, candidate in candidates:
            found = self.longest(candidate)
            if found is None or len(found.key) <= len(parent):
                continue
            if _word_ends(found.key, candidate) and (
                best is None or len(found.key) - len(parent) > best[0]
            ):
                best = (len(found.key) - len(parent), found)
        return best[1] if best else None

    def _mentioned(self, key: str) -> Clause | None:
        """The first clause id a part mentions after some words of its own ("CONTENTS ◆⑧…" → "◆⑧…");
        ids of fewer than :data:`_MENTION_MIN` characters are too short to be told from text."""
        for start in range(1, len(key)):
            found = self.longest(key[start:])
            if (
                found is not None
                and len(found.key) >= _MENTION_MIN
                and _word_ends(found.key, key[start:])
            ):
                return found
        return None

    def resolve(self, text: str) -> list[Part] | None:
        """Each reference of a citation's clause text with its clause; None when the first resolves
        to no clause. A segment that resolves to nothing is detail of the reference before it
        ("別記3 (1)・注"); segments joined across a separator are one reference when that gives a
        longer id ("◆①フレッツ・パスポートIDの取得（p.6）")."""
        segments = split_parts(text)
        parts: list[Part] = []
        i = 0
        while i < len(segments):
            found: tuple[tuple[int, int], int, Clause] | None = None
            previous = parts[-1].clause if parts else None
            for j in range(i, len(segments)):
                joined = segments[i][1] + "".join(sep + seg for sep, seg in segments[i + 1 : j + 1])
                read = self._read(clause_key(joined), previous)
                # The surest reading wins, then the longest id ("○事業者がお客さまに対し、サービス
                # 提供する場合" is one id; "…表「解約」と 表紙・奥付" names 表紙・奥付, not …表).
                rank = (read[0], -len(read[1].key)) if read else None
                if read is not None and rank is not None and (found is None or rank < found[0]):
                    found = (rank, j, read[1])
            if found is None:
                if not parts:
                    return None
                i += 1  # detail of the reference before
                continue
            _, j, clause = found
            parts.append(Part(segments[i][1].strip(), clause))
            i = j + 1
        return parts or None


# --- reading index files ---------------------------------------------------------------------------


def index_name(source: str) -> str:
    """The index file of a source document: ``002_c0352445769fc9cf.txt`` → ``002_c0352445769fc9cf.yaml``."""
    return f"{Path(source).stem}.yaml"


def read_clause_index(raw: object, checker: Checker, path: str = "") -> ClauseIndex | None:
    """An index file's data → :class:`ClauseIndex`, every mistake recorded on ``checker``."""
    where = SourceLocation(checker.file, 1, 1)
    top = checker.mapping(raw, where, "")
    if top is None or not checker.known_keys(top, {"source": True, "clauses": True}, ""):
        return None
    source = checker.string(top["source"], top.where("source"), "source")
    if source is not None and source not in SEEDS:
        checker.error(
            "unknown-source",
            f"{source!r} is not a source document",
            top.where("source"),
            "source",
        )
    elif source is not None and Path(checker.file).name != index_name(source):
        checker.error(
            "index-file-name",
            f"the index of {source} is named {index_name(source)}",
            top.where("source"),
            "source",
        )
    items = checker.sequence(top["clauses"], top.where("clauses"), "clauses")
    clauses: list[Clause] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(items or []):
        clause = _clause(checker, item, items.where(i) if items else where, f"clauses[{i}]")
        if clause is None:
            continue
        if clause.key in seen:
            checker.error(
                "duplicate-id",
                f"clause {clause.id!r} is listed twice (as {seen[clause.key]!r})",
                clause.location,
                f"clauses[{i}].id",
            )
            continue
        seen[clause.key] = clause.id
        clauses.append(clause)
    if source is None or checker.failed:
        return None
    return ClauseIndex(source, checker.file, tuple(clauses), path or checker.file)


def _clause(checker: Checker, item: object, where: SourceLocation, path: str) -> Clause | None:
    entry = checker.mapping(item, where, path)
    if entry is None or not checker.known_keys(entry, _CLAUSE_KEYS, path):
        return None
    clause_id = checker.string(entry["id"], entry.where("id"), f"{path}.id")
    heading = checker.text(entry["heading"], entry.where("heading"), f"{path}.heading")
    status = checker.choice(entry["status"], entry.where("status"), f"{path}.status", STATUSES)
    reason = checker.optional(entry, "reason", f"{path}.reason", checker.text)
    anchor = checker.optional(entry, "anchor", f"{path}.anchor", checker.string)
    fingerprint = checker.optional(entry, "fingerprint", f"{path}.fingerprint", checker.string)
    if fingerprint is not None and not _FINGERPRINT.match(fingerprint):
        checker.error(
            "bad-value",
            "a fingerprint is 'sha256:' and 64 hex digits, written by flets-elig coverage --fingerprint",
            entry.where("fingerprint"),
            f"{path}.fingerprint",
        )
    if status == "not_a_rule" and reason is None and "reason" not in entry:
        checker.error(
            "missing-reason",
            "a not_a_rule clause says in one line why it holds no rule",
            entry.where("status"),
            f"{path}.reason",
        )
    if clause_id is None or heading is None or status is None:
        return None
    if not clause_key(clause_id):
        checker.error("bad-value", "a clause id needs more than brackets", entry.where("id"), path)
        return None
    return Clause(
        clause_id,
        clause_key(clause_id),
        heading,
        status,
        entry.where("id"),
        reason,
        anchor,
        fingerprint,
    )


def read_index_file(
    path: Path, label: str | None = None
) -> tuple[ClauseIndex | None, list[Diagnostic]]:
    """One index file and its diagnostics (a YAML error is one diagnostic, not an exception)."""
    name = label or str(path)
    try:
        raw = read_yaml_file(path, name)
    except ValidationError as exc:
        return None, list(exc.diagnostics)
    checker = Checker(name)
    index = read_clause_index(raw, checker, str(path))
    return index, checker.diagnostics


def read_index_folder(
    folder: Path, label: Callable[[Path], str] = str
) -> tuple[dict[str, ClauseIndex], list[Diagnostic]]:
    """Every index file of ``folder`` by source document, and the diagnostics of all of them
    (``label`` names the files in diagnostics)."""
    indexes: dict[str, ClauseIndex] = {}
    diagnostics: list[Diagnostic] = []
    for path in yaml_files(folder) if folder.is_dir() else []:
        index, found = read_index_file(path, label(path))
        diagnostics.extend(found)
        if index is None:
            continue
        if index.source in indexes:
            diagnostics.append(
                Diagnostic(
                    "duplicate-index",
                    f"{index.source} is indexed twice (also in {indexes[index.source].file})",
                    SourceLocation(index.file, 1, 1),
                    "source",
                )
            )
            continue
        indexes[index.source] = index
    return indexes, diagnostics


def walk_citations(node: object, path: str = "") -> Iterator[tuple[str, MarkedDict]]:
    """Every ``{source, clause}`` mapping of a loaded rule or tariff file, with its field path.

    Read from the file's data rather than from a model, so a citation in any section — rules,
    consequences, readings, figures, whatever a format adds next — is found, with its line.
    """
    if isinstance(node, MarkedDict):
        if isinstance(node.get("source"), str) and isinstance(node.get("clause"), str):
            yield path, node
        for key, value in node.items():
            yield from walk_citations(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk_citations(value, f"{path}[{i}]")
