"""The store: conversations and feedback (written through the write queue, read at once),
hand-off tickets (synchronous: the customer waits for a reference) and the webhook outbox."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from ..config import Settings
from ..errors import StoreUnavailable, TicketConflict, TicketNotFound, UnprocessableRequest
from . import database
from .models import (
    AuditRow,
    Conversation,
    EventRow,
    Feedback,
    OutboxRow,
    ReplyRow,
    TicketRow,
    Turn,
)
from .records import (
    AuditEntry,
    Delivery,
    Event,
    FeedbackRecord,
    Reply,
    ReviewedTurn,
    Ticket,
    TurnRecord,
)
from .writes import WriteQueue

STATUSES = ("open", "claimed", "resolved")
# A reference a customer can read out on the phone: no 0/O, no 1/I/L.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
TICKET_CREATED = "ticket.created"
# A delivery being attempted is hidden from other processes' deliverers this long; if the
# process dies mid-attempt, the delivery becomes due again after it.
DELIVERY_LEASE = timedelta(seconds=60)
PURGED = ("conversations", "turns", "feedback", "tickets", "replies", "deliveries", "events")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """Conversations, feedback, tickets and the outbox in one SQL database (SQLite or
    PostgreSQL). Thread-safe; several processes may share one database."""

    def __init__(self, url: str, *, retention_days: int = 90, queue_size: int = 1000) -> None:
        self._url = database.parse_url(url)
        if self._url.get_backend_name() == "sqlite" and self._url.database not in (
            None,
            "",
            ":memory:",
        ):
            Path(str(self._url.database)).parent.mkdir(parents=True, exist_ok=True)
        self.retention_days = retention_days
        self._engine = database.make_engine(self._url)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._writes = WriteQueue(size=queue_size)

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """The store HELPDESK_DATABASE_URL names (SQLite in the data folder by default),
        migrated to the newest schema, its write queue running."""
        url = settings.database_url.strip()
        if not url:
            url = f"sqlite:///{(Path(settings.data_dir) / 'helpdesk.db').resolve()}"
        store = cls(url, retention_days=settings.retention_days)
        try:
            store.migrate()
        except BaseException:
            store.close(timeout=0)
            raise
        return store

    @property
    def url_for_display(self) -> str:
        """The database URL with its password hidden."""
        return database.display(self._url)

    def migrate(self) -> None:
        """Upgrade the schema to the newest migration (safe when two processes start at once)."""
        database.migrate(self._engine)

    def revision(self) -> str | None:
        """The migration the database is at (None before the first)."""
        return database.current_revision(self._engine)

    def counts(self) -> dict[str, int]:
        """Rows per table, and how many webhook deliveries are still pending."""
        tables = {
            "conversations": Conversation,
            "turns": Turn,
            "feedback": Feedback,
            "tickets": TicketRow,
            "ticket_replies": ReplyRow,
            "outbox": OutboxRow,
            "events": EventRow,
        }
        with self._session() as session:
            counts = {
                name: session.scalar(select(func.count()).select_from(model)) or 0
                for name, model in tables.items()
            }
            counts["undelivered"] = (
                session.scalar(
                    select(func.count())
                    .select_from(OutboxRow)
                    .where(OutboxRow.delivered_at.is_(None))
                )
                or 0
            )
        return counts

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (waiting at most ``timeout`` seconds), then let go of the
        database."""
        self._writes.close(timeout)
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _session(self) -> Iterator[Session]:
        """One transaction; an unreachable, down or locked database raises StoreUnavailable."""
        try:
            with self._sessions.begin() as session:
                yield session
        except database.UNAVAILABLE as error:
            raise database.unavailable(error) from error

    # Conversations: writes are queued, reads are synchronous.

    def record_turn(self, turn: TurnRecord) -> None:
        """Queue the turn (and its conversation, on the first turn) and return at once."""
        self._writes.put(f"turn {turn.id}", lambda: self._write_turn(turn))

    def record_feedback(self, feedback: FeedbackRecord) -> None:
        """Queue the feedback and return at once."""
        self._writes.put(
            f"feedback on {feedback.conversation_id}", lambda: self._write_feedback(feedback)
        )

    def record_audit(self, entry: AuditEntry) -> None:
        """Queue an agent's read for the audit log and return at once."""
        self._writes.put(f"audit {entry.action} by {entry.agent}", lambda: self._write_audit(entry))

    def audit(self, agent: str | None = None, limit: int = 200) -> list[AuditEntry]:
        """The audit log, newest first; with ``agent``, that agent's entries only."""
        query = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc())
        if agent is not None:
            query = query.where(AuditRow.agent == agent)
        with self._session() as session:
            rows = list(session.scalars(query.limit(max(0, limit))))
        return [AuditEntry(**_fields(AuditEntry, row)) for row in rows]

    def record_event(self, event: Event) -> None:
        """Queue an event for the insights and return at once."""
        self._writes.put(f"{event.kind} event", lambda: self._write_event(event))

    def events(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        kinds: tuple[str, ...] = (),
        limit: int | None = None,
    ) -> list[Event]:
        """Events at or after ``since`` and before ``until``, oldest first; only ``kinds``
        when given."""
        query = select(EventRow).order_by(EventRow.at, EventRow.id)
        if since is not None:
            query = query.where(EventRow.at >= since)
        if until is not None:
            query = query.where(EventRow.at < until)
        if kinds:
            query = query.where(EventRow.kind.in_(kinds))
        if limit is not None:
            query = query.limit(max(0, limit))
        with self._session() as session:
            rows = list(session.scalars(query))
        return [Event(**_fields(Event, row)) for row in rows]

    def _write_event(self, event: Event) -> None:
        values = _fields(Event, event)
        values.pop("id")
        with self._session() as session:
            session.add(EventRow(**values))

    def _write_audit(self, entry: AuditEntry) -> None:
        with self._session() as session:
            session.add(AuditRow(**_fields(AuditEntry, entry)))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the queued writes are written or dropped; False if ``timeout`` passed."""
        return self._writes.flush(timeout)

    @property
    def stats(self) -> dict[str, int]:
        """The write queue: queued (now), written, retried and dropped (since start)."""
        return self._writes.stats

    def turns(self, conversation_id: str, limit: int | None = None) -> list[TurnRecord]:
        """The conversation's turns, oldest first; with ``limit``, the last ``limit`` of them."""
        query = select(Turn).where(Turn.conversation_id == conversation_id)
        query = query.order_by(Turn.seq.desc())
        if limit is not None:
            query = query.limit(max(0, limit))
        with self._session() as session:
            rows = list(session.scalars(query))
        return [_turn_record(row) for row in reversed(rows)]

    def feedback(self, conversation_id: str) -> list[FeedbackRecord]:
        """The conversation's feedback, oldest first."""
        query = select(Feedback).where(Feedback.conversation_id == conversation_id)
        with self._session() as session:
            rows = list(session.scalars(query.order_by(Feedback.at, Feedback.id)))
        return [FeedbackRecord(**_fields(FeedbackRecord, row)) for row in rows]

    def reviewed_turns(self, limit: int = 1000) -> list[ReviewedTurn]:
        """The newest ``limit`` turns of every conversation, newest first, each with whether a
        thumbs down or a hand-off followed it.

        Feedback or a ticket naming an answer marks that turn; one on the whole conversation
        marks the last turn before it (what the customer was reading when they gave up).
        """
        newest = select(Turn).order_by(Turn.at.desc(), Turn.id).limit(max(0, limit))
        with self._session() as session:
            rows = list(session.scalars(newest))
            ids = sorted({row.conversation_id for row in rows})
            timeline: dict[str, list[tuple[datetime, str]]] = {}
            for conversation_id, turn_id, at in session.execute(
                select(Turn.conversation_id, Turn.id, Turn.at).where(Turn.conversation_id.in_(ids))
            ):
                timeline.setdefault(conversation_id, []).append((at, turn_id))
            disliked = [
                (conversation_id, answer_id, at)
                for conversation_id, answer_id, at in session.execute(
                    select(Feedback.conversation_id, Feedback.answer_id, Feedback.at)
                    .where(Feedback.conversation_id.in_(ids))
                    .where(Feedback.helpful.is_(False))
                )
            ]
            tickets = [
                (conversation_id, (packet or {}).get("answer_id"), at)
                for conversation_id, packet, at in session.execute(
                    select(TicketRow.conversation_id, TicketRow.packet, TicketRow.created_at).where(
                        TicketRow.conversation_id.in_(ids)
                    )
                )
            ]
            turns = [_turn_record(row) for row in rows]

        def marked(events: list[tuple[str, Any, datetime]]) -> set[str]:
            found: set[str] = set()
            for conversation_id, answer_id, at in events:
                known = timeline.get(conversation_id, [])
                if isinstance(answer_id, str) and any(t == answer_id for _, t in known):
                    found.add(answer_id)
                    continue
                before = [(when, t) for when, t in known if when <= at]
                if before:
                    found.add(max(before)[1])
            return found

        down, handed = marked(disliked), marked(tickets)
        return [ReviewedTurn(t, t.id in down, t.id in handed) for t in turns]

    def _write_turn(self, turn: TurnRecord) -> None:
        with self._sessions.begin() as session:
            if session.get(Turn, turn.id) is not None:
                return  # written by an attempt whose commit was acknowledged too late
            conversation = _touch_conversation(session, turn.conversation_id, turn.at)
            if conversation is None:
                session.add(
                    Conversation(
                        id=turn.conversation_id,
                        created_at=turn.at,
                        updated_at=turn.at,
                        reader=turn.reader,
                        surface=turn.surface,
                        context=dict(turn.context),
                        customer_id=_customer_id(turn.context),
                    )
                )
            elif turn.context:
                conversation.context = dict(turn.context)
                conversation.customer_id = _customer_id(turn.context)
            last = session.scalar(
                select(func.max(Turn.seq)).where(Turn.conversation_id == turn.conversation_id)
            )
            session.add(Turn(seq=(last or 0) + 1, **_fields(TurnRecord, turn)))

    def _write_feedback(self, feedback: FeedbackRecord) -> None:
        with self._sessions.begin() as session:
            if _touch_conversation(session, feedback.conversation_id, feedback.at) is None:
                # Feedback on a conversation this database never saw (its turns were dropped).
                session.add(
                    Conversation(
                        id=feedback.conversation_id,
                        created_at=feedback.at,
                        updated_at=feedback.at,
                        reader="",
                        surface="",
                        context={},
                        customer_id=None,
                    )
                )
            session.add(Feedback(**_fields(FeedbackRecord, feedback)))

    # Tickets: synchronous.

    def create_ticket(
        self, conversation_id: str, packet: dict[str, Any], language: str, *, notify: bool
    ) -> Ticket:
        """Open a ticket, and with ``notify`` its webhook event, in one transaction; if the
        conversation already has an open or claimed ticket, that ticket is returned instead."""
        for _ in range(5):
            try:
                with self._session() as session:
                    existing = session.scalars(
                        select(TicketRow)
                        .where(TicketRow.conversation_id == conversation_id)
                        .where(TicketRow.status != "resolved")
                    ).first()
                    if existing is not None:
                        return _ticket(existing)
                    now = utcnow()
                    row = TicketRow(
                        id=uuid.uuid4().hex,
                        reference="HD-"
                        + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6)),
                        conversation_id=conversation_id,
                        status="open",
                        language=language,
                        created_at=now,
                        updated_at=now,
                        claimed_by=None,
                        resolved_at=None,
                        packet=packet,
                        replies=[],
                    )
                    ticket = _ticket(row)
                    session.add(row)
                    if notify:
                        session.add(
                            OutboxRow(
                                ticket_id=row.id,
                                event=TICKET_CREATED,
                                idempotency_key=row.id,
                                payload={"event": TICKET_CREATED, "ticket": ticket.as_json()},
                                attempts=0,
                                created_at=now,
                                next_attempt_at=now,
                                delivered_at=None,
                                last_error="",
                            )
                        )
                return ticket
            except IntegrityError:
                # Another process opened this conversation's ticket at the same moment (or,
                # rarely, the reference was taken): look again.
                continue
        raise StoreUnavailable("the ticket could not be created; try again")

    def tickets(self, status: str | None = None, limit: int = 200) -> list[Ticket]:
        """Tickets, newest first, optionally of one status."""
        query = select(TicketRow).options(selectinload(TicketRow.replies))
        if status is not None:
            if status not in STATUSES:
                raise UnprocessableRequest(
                    f"status must be one of {', '.join(STATUSES)}, got {status!r}"
                )
            query = query.where(TicketRow.status == status)
        query = query.order_by(TicketRow.created_at.desc(), TicketRow.id).limit(limit)
        with self._session() as session:
            return [_ticket(row) for row in session.scalars(query)]

    def ticket(self, ticket_id: str) -> Ticket:
        """One ticket with its replies; TicketNotFound if there is none."""
        with self._session() as session:
            return _ticket(_get_ticket(session, ticket_id))

    def claim(self, ticket_id: str, agent: str) -> Ticket:
        """Take the ticket; TicketConflict if another agent has it or it is resolved."""
        with self._session() as session:
            _take(session, ticket_id, agent, status="claimed")
            return _ticket(_get_ticket(session, ticket_id))

    def reply(self, ticket_id: str, agent: str, text: str) -> Ticket:
        """Record the agent's reply with the ticket (an open ticket becomes the agent's)."""
        with self._session() as session:
            now = _take(session, ticket_id, agent, status="claimed")
            session.add(ReplyRow(ticket_id=ticket_id, author=agent, text=text, at=now))
            session.flush()
            row = _get_ticket(session, ticket_id)
            session.refresh(row, ["replies"])
            return _ticket(row)

    def resolve(self, ticket_id: str, agent: str) -> Ticket:
        """Close the ticket; TicketConflict if another agent has it or it is resolved."""
        with self._session() as session:
            _take(session, ticket_id, agent, status="resolved")
            return _ticket(_get_ticket(session, ticket_id))

    # The webhook outbox.

    def due_deliveries(self, now: datetime, limit: int = 10) -> list[Delivery]:
        """Undelivered events whose next attempt is due, oldest first, each leased to the
        caller for a minute so that another process does not send it at the same time."""
        query = (
            select(OutboxRow)
            .where(OutboxRow.delivered_at.is_(None), OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(limit)
        )
        due = []
        with self._session() as session:
            for row in list(session.scalars(query)):
                delivery = _delivery(row)
                leased = session.execute(
                    update(OutboxRow)
                    .where(
                        OutboxRow.id == row.id,
                        OutboxRow.delivered_at.is_(None),
                        OutboxRow.next_attempt_at == row.next_attempt_at,
                    )
                    .values(next_attempt_at=now + DELIVERY_LEASE)
                    .execution_options(synchronize_session=False)
                )
                if cast(CursorResult[Any], leased).rowcount == 1:
                    due.append(delivery)
        return due

    def delivered(self, delivery_id: int, at: datetime) -> None:
        """The receiver acknowledged the event."""
        self._update_delivery(delivery_id, delivered_at=at, last_error="")

    def delivery_failed(self, delivery_id: int, error: str, next_attempt_at: datetime) -> None:
        """The attempt failed; try again at ``next_attempt_at``."""
        self._update_delivery(delivery_id, next_attempt_at=next_attempt_at, last_error=error[:2000])

    def deliveries(self, ticket_id: str | None = None) -> list[Delivery]:
        """The outbox (or one ticket's part of it), oldest first."""
        query = select(OutboxRow).order_by(OutboxRow.id)
        if ticket_id is not None:
            query = query.where(OutboxRow.ticket_id == ticket_id)
        with self._session() as session:
            return [_delivery(row) for row in session.scalars(query)]

    def _update_delivery(self, delivery_id: int, **values: Any) -> None:
        with self._session() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == delivery_id)
                .values(attempts=OutboxRow.attempts + 1, **values)
                .execution_options(synchronize_session=False)
            )

    # Retention.

    def purge(self, now: datetime | None = None) -> dict[str, int]:
        """Delete conversations idle longer than the retention (their turns and feedback with
        them), resolved tickets, delivered webhook events and insight events older than it;
        undelivered webhook events stay."""
        counts = dict.fromkeys(PURGED, 0)
        if self.retention_days <= 0:
            return counts
        cutoff = (now or utcnow()) - timedelta(days=self.retention_days)
        old_conversations = select(Conversation.id).where(Conversation.updated_at < cutoff)
        old_tickets = select(TicketRow.id).where(
            TicketRow.status == "resolved", TicketRow.resolved_at < cutoff
        )
        statements = {
            "turns": delete(Turn).where(Turn.conversation_id.in_(old_conversations)),
            "feedback": delete(Feedback).where(Feedback.conversation_id.in_(old_conversations)),
            "conversations": delete(Conversation).where(Conversation.updated_at < cutoff),
            "replies": delete(ReplyRow).where(ReplyRow.ticket_id.in_(old_tickets)),
            "tickets": delete(TicketRow).where(TicketRow.id.in_(old_tickets)),
            "deliveries": delete(OutboxRow).where(
                OutboxRow.delivered_at.is_not(None), OutboxRow.delivered_at < cutoff
            ),
            "events": delete(EventRow).where(EventRow.at < cutoff),
        }
        with self._session() as session:
            for name, statement in statements.items():
                result = session.execute(statement.execution_options(synchronize_session=False))
                counts[name] = cast(CursorResult[Any], result).rowcount
        return counts


def _customer_id(context: dict[str, Any]) -> str | None:
    customer = context.get("customer_id")
    return str(customer)[:200] if customer else None


def _touch_conversation(
    session: Session, conversation_id: str, at: datetime
) -> Conversation | None:
    """The conversation, its last activity moved to ``at``; None if it does not exist yet."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is not None and at > conversation.updated_at:
        conversation.updated_at = at
    return conversation


def _get_ticket(session: Session, ticket_id: str) -> TicketRow:
    row = session.get(TicketRow, ticket_id)
    if row is None:
        raise TicketNotFound(f"no ticket {ticket_id!r}")
    return row


def _take(session: Session, ticket_id: str, agent: str, *, status: str) -> datetime:
    """Move an open ticket, or one this agent holds, to ``status`` in one conditional UPDATE,
    so that of two agents at the same moment exactly one wins."""
    now = utcnow()
    values: dict[str, Any] = {"status": status, "claimed_by": agent, "updated_at": now}
    if status == "resolved":
        values["resolved_at"] = now
    result = session.execute(
        update(TicketRow)
        .where(
            TicketRow.id == ticket_id,
            or_(
                TicketRow.status == "open",
                and_(TicketRow.status == "claimed", TicketRow.claimed_by == agent),
            ),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount == 1:
        session.expire_all()
        return now
    row = _get_ticket(session, ticket_id)
    if row.status == "resolved":
        raise TicketConflict(f"ticket {row.reference} is already resolved", status=row.status)
    raise TicketConflict(
        f"ticket {row.reference} is claimed by {row.claimed_by}", claimed_by=row.claimed_by
    )


def _fields(record: type[Any], source: object) -> dict[str, Any]:
    """A record's fields read from ``source``, a record or a row: the rows' columns carry the
    records' names, so each is copied by name, once."""
    return {f.name: getattr(source, f.name) for f in dataclasses.fields(record)}


def _turn_record(row: Turn) -> TurnRecord:
    return TurnRecord(**_fields(TurnRecord, row))


def _ticket(row: TicketRow) -> Ticket:
    return Ticket(
        id=row.id,
        reference=row.reference,
        conversation_id=row.conversation_id,
        status=row.status,
        language=row.language,
        created_at=row.created_at,
        updated_at=row.updated_at,
        claimed_by=row.claimed_by,
        resolved_at=row.resolved_at,
        packet=dict(row.packet),
        replies=tuple(Reply(author=r.author, text=r.text, at=r.at) for r in row.replies),
    )


def _delivery(row: OutboxRow) -> Delivery:
    return Delivery(
        id=row.id,
        ticket_id=row.ticket_id,
        idempotency_key=row.idempotency_key,
        payload=dict(row.payload),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
    )
