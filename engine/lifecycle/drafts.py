"""Drafts: the text of one rule or tariff file, not yet in the folder, checked and loaded as if it
were (the studio's editor, simulator, impact preview and publish).

A draft is checked by the one checker — the same validation, analysis and ledger as ``flets-elig
check`` (:func:`engine.rules.rulebook.read_rulesets`, :func:`~engine.rules.analysis.analyse`,
:func:`~engine.tariff.book.load_tariffs`) — under the name it will have in the folder, so its
diagnostics read exactly as ``check`` prints them, plus version discipline against every version whose
content is fixed (:mod:`engine.lifecycle.versions`) and the version clashes with the folder's other
files.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, SourceLocation, ValidationError
from ..format.loader import yaml_files
from ..format.versions import Known, VersionedFile, check_versions
from ..rules.analysis import analyse
from ..rules.model import RuleSet
from ..rules.rulebook import (
    Rulebook,
    display_name,
    load_rulebook,
    read_rulesets,
    ruleset_file,
    version_clashes,
)
from ..tariff.book import TariffBook, load_tariffs

#: Longest draft accepted (the loader's own limit is 1 MiB).
MAX_DRAFT_CHARS = 1024 * 1024


@dataclass
class DraftCheck:
    """What checking a draft found: the diagnostics of its file, and what it declares."""

    diagnostics: list[Diagnostic]
    id: str | None = None
    version: str | None = None
    digest: str | None = None
    ruleset: RuleSet | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def rule_label(folder: Path, name: str) -> str:
    """How a rule file in ``folder`` is named in diagnostics (as the server names it)."""
    return display_name(folder / name)


def tariff_label(folder: Path, name: str) -> str:
    return str(folder / name)


@contextmanager
def _written(text: str, name: str) -> Iterator[Path]:
    """``text`` as the file ``name`` in a private temporary folder, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="flets-draft-"))
    try:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_rule_draft(
    text: str,
    name: str,
    folder: Path,
    served: Sequence[RuleSet],
    known: Mapping[str, Known],
) -> DraftCheck:
    """Check the rule file ``name`` of ``folder`` with ``text`` as its content: validation, version
    clashes with the served versions of the other files, version discipline (``known``), analysis."""
    label = rule_label(folder, name)
    with _written(text, name) as path:
        rulesets, diagnostics = read_rulesets([path], lambda _: label)
    if not rulesets:
        return DraftCheck(diagnostics)
    ruleset = rulesets[0]
    others = [rs for rs in served if rs.file != label]
    diagnostics += [d for d in version_clashes([*others, ruleset]) if d.location.file == label]
    found = ruleset_file(ruleset)
    versions_of = {ruleset.id: [rs.version for rs in others if rs.id == ruleset.id]}
    diagnostics += check_versions([found], known, "rule set", versions_of)
    diagnostics += analyse(ruleset)
    return DraftCheck(diagnostics, ruleset.id, ruleset.version, found.digest, ruleset)


def load_rule_draft(text: str, name: str, folder: Path) -> Rulebook:
    """The draft compiled into a rulebook of its own (to simulate and replay it).

    :raises ValidationError: the draft fails check.
    """
    with _written(text, name) as path:
        return load_rulebook(path, label=lambda _: rule_label(folder, name))


@contextmanager
def _tariff_copy(text: str, name: str, folder: Path) -> Iterator[Path]:
    """A copy of the tariff ``folder`` with ``text`` as its file ``name``."""
    copy = Path(tempfile.mkdtemp(prefix="flets-draft-"))
    try:
        for path in yaml_files(folder) if folder.is_dir() else []:
            shutil.copyfile(path, copy / path.name)
        (copy / name).write_text(text, encoding="utf-8")
        yield copy
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def load_tariff_draft(text: str, name: str, folder: Path) -> TariffBook:
    """The tariff folder with the draft in place of its file ``name``, loaded (the ledger is the
    folder's own check; version discipline is :func:`check_tariff_draft`'s).

    :raises ValidationError: the folder with the draft fails check.
    """
    with _tariff_copy(text, name, folder) as copy:
        return load_tariffs(copy, label=lambda p: tariff_label(folder, p.relative_to(copy).name))


def check_tariff_draft(
    text: str, name: str, folder: Path, known: Mapping[str, Known]
) -> tuple[DraftCheck, TariffBook | None]:
    """Check the tariff folder with the draft as its file ``name``: the draft's diagnostics (and the
    folder's that name no file), version discipline; the loaded book when it passes."""
    label = tariff_label(folder, name)
    try:
        book = load_tariff_draft(text, name, folder)
    except ValidationError as exc:
        mine = [d for d in exc.diagnostics if d.location.file in (label, str(folder))]
        return DraftCheck(mine or exc.diagnostics), None
    found: VersionedFile | None = next(
        (f for f in book.files.values() if f.location.file == label), None
    )
    if found is None:
        problem = Diagnostic("unknown-document", "the draft holds no tariff", SourceLocation(label))
        return DraftCheck([problem]), None
    others = {t.version for t in book.versions(found.id)} - {found.version}
    problems = check_versions([found], known, "tariff", {found.id: others})
    check = DraftCheck(problems, found.id, found.version, found.digest)
    return check, (book if check.ok else None)


def with_example(text: str, example: dict[str, Any]) -> str:
    """``text`` with ``example`` appended to its top-level ``examples:`` list (the file's last
    section by convention; otherwise a new ``examples:`` section at the end)."""

    def flow(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = [f"  - note: {flow(example['note'])}"]
    for key in ("as_of", "facts", "request", "expect"):
        if key in example:
            lines.append(f"    {key}: {flow(example[key])}")
    block = "\n".join(lines) + "\n"
    body = text if text.endswith("\n") else text + "\n"
    has_section = any(line.startswith("examples:") for line in body.splitlines())
    if not has_section:
        body += "examples:\n"
    return body + block
