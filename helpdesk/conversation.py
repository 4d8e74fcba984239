"""Multi-turn memory: the last few turns of each ``conversation_id``, and follow-up rewriting.

A follow-up ("what about the premium plan?", "그럼 환불은요?") means little to retrieval on its
own. When a question reads like one (a short question that opens with "what about", "and", "그럼",
or leans on "it"/"that"/"그거"), it is rewritten into a standalone question by carrying the
previous turn's question along with it, and that standalone question is what gets retrieved and
answered.

Conversations live in the store (SQLite or PostgreSQL, see :mod:`helpdesk.store`), so a
follow-up works after a restart and from another server process. Each process also keeps the
last turns of recent conversations in memory, bounded in count and age: when the database is
down, follow-ups still work within the process that answered, and answers never stop.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

from .store import Store, StoreUnavailable, TurnRecord

log = logging.getLogger(__name__)

_EN_LEAD = re.compile(
    r"^\s*(?:and\s+)?(?:what|how)\s+about\b|^\s*and\s+(?:for|with|if|the|what|how|in|on)\b|"
    r"^\s*(?:also|same\s+for|what\s+if|and\s+if|for\s+the|in\s+the|on\s+the|with\s+the)\b",
    re.IGNORECASE,
)
_EN_PRONOUN = re.compile(r"\b(?:it|its|that|this|they|them|those|these|one)\b", re.IGNORECASE)
_KO_LEAD = re.compile(
    r"^\s*(?:그럼|그러면|그렇다면|그건|그거|그것|그게|이건|이거|저건|그리고|또|그\s)"
)
# "환불은요?", "루모 캠도요?": a noun, a topic particle and 요, nothing else.
_KO_TAIL = re.compile(r"(?:은요|는요|도요)\s*[?？]?\s*$")
_STRIP_LEAD = re.compile(
    r"^\s*(?:and\s+)?(?:what|how)\s+about\s+|^\s*(?:and|also)\s+|^\s*(?:그럼|그러면|그렇다면|그리고|또)\s*",
    re.IGNORECASE,
)
_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class Turn(Protocol):
    """What a follow-up needs of an earlier turn (a :class:`~helpdesk.store.TurnRecord`)."""

    @property
    def standalone(self) -> str: ...


def is_follow_up(question: str) -> bool:
    """Does this question lean on an earlier one?"""
    words = question.split()
    if _EN_LEAD.search(question) or _KO_LEAD.search(question):
        return True
    if len(words) <= 3 and _KO_TAIL.search(question):
        return True
    return len(words) <= 7 and bool(_EN_PRONOUN.search(question))


def standalone_question(question: str, history: list[TurnRecord] | list[Turn]) -> str:
    """The question to retrieve and answer: itself, or with the previous turn's question."""
    if not history or not is_follow_up(question):
        return question
    previous = history[-1].standalone
    rest = _STRIP_LEAD.sub("", question).strip() or question.strip()
    return f"{previous} — {rest}"


def valid_id(value: str) -> bool:
    return bool(_ID.fullmatch(value))


class Conversations:
    """Recent turns per conversation id, in this process's memory, bounded in count and age."""

    def __init__(self, turns: int = 4, limit: int = 10_000, ttl: float = 3600.0) -> None:
        self.turns = turns
        self.limit = limit
        self.ttl = ttl
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[float, deque[TurnRecord]]] = OrderedDict()

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(16)

    def history(self, conversation_id: str) -> list[TurnRecord]:
        with self._lock:
            item = self._items.get(conversation_id)
            if item is None or time.monotonic() - item[0] > self.ttl:
                return []
            return list(item[1])

    def add(self, conversation_id: str, turn: TurnRecord) -> None:
        if self.turns <= 0:
            return
        with self._lock:
            _, turns = self._items.pop(conversation_id, (0.0, deque(maxlen=self.turns)))
            turns.append(turn)
            self._items[conversation_id] = (time.monotonic(), turns)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)


class ConversationMemory:
    """The earlier turns of a conversation: from the store, else from this process's memory.

    Reads go to the store (a follow-up may come to another process, or after a restart); a
    turn is written to both, the store's write queued so it never slows an answer.
    """

    def __init__(self, store: Callable[[], Store | None], turns: int) -> None:
        self._store = store
        self.turns = turns
        self.local = Conversations(turns=turns)

    @staticmethod
    def new_id() -> str:
        return Conversations.new_id()

    def history(self, conversation_id: str) -> list[TurnRecord]:
        local = self.local.history(conversation_id)
        store = self._store()
        if store is None:
            return local
        try:
            stored = store.turns(conversation_id, limit=self.turns)
        except StoreUnavailable as error:
            log.warning("conversation history from memory only: %s", error)
            return local
        # A turn this process answered while the database was away is newer than the store's.
        if local and (not stored or local[-1].at > stored[-1].at):
            return local
        return stored

    def add(self, turn: TurnRecord) -> None:
        self.local.add(turn.conversation_id, turn)
        store = self._store()
        if store is not None:
            store.record_turn(turn)  # queued: returns at once, never raises
