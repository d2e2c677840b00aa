"""What the service knows of each version's content, beyond the folder's ledger: version discipline
at reload and publish time.

:mod:`engine.format.versions` fixes a version's content by the committed ledger (``versions.lock``),
which ``flets-elig check`` reads. A running service knows more: every version it served since it
started, every version the decision log holds decisions of (each decision records the digest of its
version), and every version published from the studio (:mod:`engine.lifecycle.publish`). A reload
(the folder watcher, ``POST /v1/admin/reload``, a publish) whose files change the content of any of
those versions is refused with the ``version-not-bumped`` diagnostic, and the previous generation
keeps serving: the decision log can never record two contents under one version.

The decision log is read once, when first needed (its versions do not change under a running service
except through versions the service itself serves, which it records as it serves them).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..errors import Diagnostic
from ..format.versions import Known, check_versions, lock_known, read_lock
from ..rules.rulebook import ruleset_file
from .decision_log import AuditError, DecisionLog
from .generations import Sources

if TYPE_CHECKING:
    from .reload import Bundle

log = logging.getLogger(__name__)

#: The two kinds of versioned files, as the studio and the publish record name them.
KINDS = ("rules", "tariffs")


class KnownVersions:
    """Every ``id@version`` whose content is fixed, with its digest and where it was fixed.

    :param publishes: the versions the publish record holds: ``(kind, key, digest, where)``.
    """

    def __init__(
        self,
        sources: Sources,
        decision_log: DecisionLog | None = None,
        publishes: Callable[[], Iterable[tuple[str, str, str, str]]] | None = None,
    ) -> None:
        self.sources = sources
        self._log = decision_log
        self._publishes = publishes
        self._lock = threading.Lock()
        self._served: dict[str, dict[str, Known]] = {kind: {} for kind in KINDS}
        self._logged: dict[str, Known] | None = None

    def serve(self, bundle: Bundle) -> None:
        """Record the versions of ``bundle`` as served (their content is fixed from now on)."""
        where = f"generation {bundle.generation} served"
        with self._lock:
            rules = self._served["rules"]
            for rs in bundle.rulebook.all_rulesets():
                file = ruleset_file(rs)
                if file.digest:
                    rules.setdefault(file.key, Known(file.digest, where))
            if bundle.tariffs is not None:
                for key, found in bundle.tariffs.files.items():
                    self._served["tariffs"].setdefault(key, Known(found.digest, where))

    def _logged_versions(self) -> dict[str, Known]:
        if self._logged is None:
            found: dict[str, Known] = {}
            if self._log is not None:
                try:
                    for ruleset, version, digest in sorted(self._log.versions()):
                        found.setdefault(f"{ruleset}@{version}", Known(digest, "the decision log"))
                except AuditError as exc:  # unreadable now: the other sources still count
                    log.error("version discipline: %s", exc)
                    return found
            self._logged = found
        return self._logged

    def known(self, kind: str) -> dict[str, Known]:
        """The fixed versions of ``kind`` (``rules`` or ``tariffs``): the ledger first, then the
        publish record, the decision log (rules only) and what this process served."""
        folder = self.sources.rules if kind == "rules" else self.sources.tariffs
        found: dict[str, Known] = {}
        if folder is not None:
            entries, _problems = read_lock(folder)
            found.update(lock_known(entries, folder))
        if self._publishes is not None:
            for published_kind, key, digest, where in self._publishes():
                if published_kind == kind:
                    found.setdefault(key, Known(digest, where))
        if kind == "rules":
            for key, known in self._logged_versions().items():
                found.setdefault(key, known)
        with self._lock:
            for key, known in self._served[kind].items():
                found.setdefault(key, known)
        return found

    def check_bundle(self, bundle: Bundle) -> list[Diagnostic]:
        """``version-not-bumped`` for each version of ``bundle`` whose content differs from the
        content fixed for it."""
        found = check_versions(
            [ruleset_file(rs) for rs in bundle.rulebook.all_rulesets()],
            self.known("rules"),
            "rule set",
        )
        if bundle.tariffs is not None:
            found += check_versions(bundle.tariffs.files.values(), self.known("tariffs"), "tariff")
        return found
