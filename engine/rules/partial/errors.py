"""What a partial answer or a what-if refuses: an ``unknown`` list that names no fact (or a fact also
given), and a search too large or too slow to finish. Each carries catalogue messages, so the API
answers in the caller's language (``/problems/invalid-fields`` and ``/problems/too-many-combinations``)."""

from __future__ import annotations

from collections.abc import Mapping

from ...errors import EngineError
from ...messages import Code, Message


class UnknownListError(EngineError):
    """The ``unknown`` list is wrong; ``fields`` maps each bad entry (``"0"``, ``"1"`` …) to its
    reasons, like :class:`~engine.errors.FactsError` does for facts."""

    def __init__(self, fields: Mapping[str, list[Message]]) -> None:
        self.fields = dict(fields)
        super().__init__(f"invalid unknown facts: {', '.join(sorted(self.fields))}")


class TooManyCombinationsError(EngineError):
    """Answering would mean considering more combinations than the limit allows, or more than the
    time limit lets finish; nothing was answered (nor logged)."""

    def __init__(self, message: Message) -> None:
        self.message = message
        super().__init__(str(message))

    @classmethod
    def counted(cls, count: int, limit: int) -> TooManyCombinationsError:
        return cls(Message(Code.TOO_MANY_COMBINATIONS, count=count, limit=limit))

    @classmethod
    def timed_out(cls, seconds: float) -> TooManyCombinationsError:
        return cls(Message(Code.WHATIF_TOO_SLOW, seconds=f"{seconds:g}"))


__all__ = ["TooManyCombinationsError", "UnknownListError"]
