"""The only module that touches ``durable_rules``: a safe way to ask it which rules a fact fires.

durable_rules 2.0.28 is fast C under a fragile Python layer (see ``shared/durable-rules-notes.md``). We
drive its C extension directly and contain every measured hazard here:

* concurrent calls crash it → every call into the engine holds one process-wide lock (the extension
  never releases the GIL, so the lock costs no parallelism);
* the stock ``Host`` starts background dispatch timers that race the caller → we use no ``Host``;
* a no-match followed by ``delete_state`` aborts the process → the compiler adds a guard rule that every
  request fact matches, and a session whose assertion failed is never deleted, only counted;
* more than 1,024 live sessions fail → each decision uses a fresh session (sid) that is deleted at once,
  and a handle that has accumulated abandoned sessions is replaced by a fresh one;
* events are consumed by the first rule → we assert facts, which every matching rule sees;
* ``$or`` fires a rule once per true branch → fired actions are collected as a set.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import durable_rules_engine as _engine

from ..errors import EvaluationError
from .compiler import GUARD_ACTION, CompiledRuleSet

#: One lock for the whole process: the C engine keeps global state shared by all handles.
ENGINE_LOCK = threading.Lock()

#: Facts one call asserts per hold of the lock. A long batch lets a thread waiting for the lock (a
#: reload building its decision tables, a single decision) in between turns, so that thread waits
#: about 10 ms per turn instead of a whole batch (up to 0.3 s for 5,000 facts): a reload under a load
#: of live batches needs about a hundred turns.
LOCK_TURN = 256

#: A handle with this many abandoned (undeletable) sessions is replaced before it nears the 1,024 limit.
MAX_ABANDONED_SESSIONS = 64

_handle_names = itertools.count()
_sids = itertools.count(1)

_RESULT_OK = 0


def _unique_name(base: str) -> str:
    # durable_rules keeps ruleset names in a process-wide registry; never reuse one.
    return f"{base}__{next(_handle_names)}"


class _EngineRuleset:
    """One durable_rules ruleset handle plus the bookkeeping that keeps it healthy."""

    def __init__(self, compiled: CompiledRuleSet) -> None:
        self.key = compiled.ruleset.key
        self._definition = json.dumps(compiled.definition, ensure_ascii=False)
        self.abandoned = 0
        self.handle = self._create()

    def _create(self) -> Any:
        return _engine.create_ruleset(_unique_name(self.key), self._definition)

    def renew(self) -> None:
        """Swap in a fresh handle; the old one (and its abandoned sessions) is released."""
        old, self.handle = self.handle, self._create()
        self.abandoned = 0
        _delete_quietly(old)


def _delete_quietly(handle: Any) -> None:
    try:
        _engine.delete_ruleset(handle)
    except Exception:  # noqa: BLE001 - a failed release must not fail a decision
        pass


class DurableRuntime:
    """Evaluates encoded facts against compiled rule sets, one fresh session per fact.

    Thread-safe: any number of threads may call :meth:`fire` and :meth:`fire_many`.
    """

    def __init__(self, compiled: Iterable[CompiledRuleSet]) -> None:
        with ENGINE_LOCK:
            self._rulesets = {c.ruleset.key: _EngineRuleset(c) for c in compiled}
        self._closed = False

    def fire(self, key: str, fact: dict[str, Any]) -> frozenset[str]:
        """The action names of every rule the fact matches (the guard excluded)."""
        return self.fire_many(key, (fact,))[0]

    def fire_many(self, key: str, facts: Sequence[dict[str, Any]]) -> list[frozenset[str]]:
        """Like :meth:`fire` for many facts, taking the lock once per :data:`LOCK_TURN` facts."""
        ruleset = self._rulesets[key]
        fired: list[frozenset[str]] = []
        for start in range(0, max(len(facts), 1), LOCK_TURN):  # once even for no facts
            if start:
                time.sleep(0)  # drop the GIL: a thread woken by the release takes its turn
            with ENGINE_LOCK:
                if self._closed:
                    raise EvaluationError("this rulebook has been closed")
                fired.extend(self._fire_one(ruleset, f) for f in facts[start : start + LOCK_TURN])
        return fired

    def _fire_one(self, ruleset: _EngineRuleset, fact: dict[str, Any]) -> frozenset[str]:
        sid = str(next(_sids))
        payload = json.dumps({**fact, "sid": sid}, ensure_ascii=False)
        handle = ruleset.handle
        try:
            code, state = _engine.assert_fact(handle, payload)
        except Exception as exc:
            self._abandon(ruleset)
            raise EvaluationError(f"the rules engine refused the facts: {exc}") from None
        if code != _RESULT_OK:
            self._abandon(ruleset)
            raise EvaluationError(f"the rules engine did not handle the facts (code {code})")
        try:
            fired = _drain_actions(handle, state)
        except Exception as exc:
            self._abandon(ruleset)
            raise EvaluationError(f"the rules engine failed while firing rules: {exc}") from None
        _engine.delete_state(handle, sid)
        if GUARD_ACTION not in fired:
            # The guard matches every request fact; without it the answer cannot be trusted.
            raise EvaluationError("the rules engine skipped the guard rule")
        fired.discard(GUARD_ACTION)
        return frozenset(fired)

    def _abandon(self, ruleset: _EngineRuleset) -> None:
        # Deleting a session after a failed assertion can abort the process: leave it, count it.
        ruleset.abandoned += 1
        if ruleset.abandoned >= MAX_ABANDONED_SESSIONS:
            ruleset.renew()

    def close(self) -> None:
        """Release every handle. Decisions after this raise :class:`EvaluationError`."""
        with ENGINE_LOCK:
            if self._closed:
                return
            self._closed = True
            for ruleset in self._rulesets.values():
                _delete_quietly(ruleset.handle)


def _drain_actions(handle: Any, state: Any) -> set[str]:
    """Run the engine's pending actions for this session, recording each rule's name.

    Our actions do nothing but be recorded, so each is completed at once; the engine then offers the
    next matching rule until none is left.
    """
    fired: set[str] = set()
    started = _engine.start_action_for_state(handle, state)
    message = started[1] if started else None
    while message:
        fired.add(_action_name(message))
        message = _engine.complete_and_start_action(handle, state)
    return fired


def _action_name(message: str) -> str:
    # The message is '{"<action>": {...}}'; the name is the first key. Parsing the whole JSON costs
    # more than the rest of the decision, so read the key directly and fall back to JSON if odd.
    if message.startswith('{"'):
        end = message.find('"', 2)
        if end > 2:
            return message[2:end]
    name: str = next(iter(json.loads(message)))
    return name
