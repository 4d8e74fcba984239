"""The tables, as SQLAlchemy typed ORM models. A change here needs a migration in
migrations/versions/ (test_store checks that the migrated schema matches these models)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database: SQLite keeps no offset, so values are
    stored as UTC and read back with UTC attached; PostgreSQL's are converted to UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value  # naive values are taken to be UTC already
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads it from the class)
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime]
    # The last turn or feedback: retention counts from here.
    updated_at: Mapped[datetime] = mapped_column(index=True)
    reader: Mapped[str] = mapped_column(String(16))
    surface: Mapped[str] = mapped_column(String(16))
    context: Mapped[dict[str, Any]]
    customer_id: Mapped[str | None] = mapped_column(String(200), index=True)

    turns: Mapped[list[Turn]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", passive_deletes=True
    )


class Turn(Base):
    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("conversation_id", "seq", name="uq_turns_conversation_seq"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within the conversation
    at: Mapped[datetime]
    question: Mapped[str] = mapped_column(Text)
    standalone: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    reader: Mapped[str] = mapped_column(String(16))
    surface: Mapped[str] = mapped_column(String(16))
    not_covered: Mapped[bool] = mapped_column(Boolean)
    grounded: Mapped[bool] = mapped_column(Boolean)
    confidence: Mapped[float] = mapped_column(Float)
    generated_by: Mapped[str] = mapped_column(String(64))
    citations: Mapped[list[Any]]
    sources: Mapped[list[Any]]
    verification: Mapped[dict[str, Any] | None]
    fallback_reason: Mapped[str] = mapped_column(Text)
    frustration: Mapped[float] = mapped_column(Float)
    mood: Mapped[str] = mapped_column(String(32))
    cues: Mapped[list[Any]]
    escalation: Mapped[list[Any]]
    timings: Mapped[dict[str, Any]]
    context: Mapped[dict[str, Any]]

    conversation: Mapped[Conversation] = relationship(back_populates="turns")


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    answer_id: Mapped[str | None] = mapped_column(String(64))
    helpful: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class TicketRow(Base):
    # No foreign key to conversations: a ticket carries its conversation in its packet and
    # must outlive the conversation's retention while it is open.
    __tablename__ = "tickets"
    __table_args__ = (
        # One open or claimed ticket per conversation, even across server processes.
        Index(
            "uq_tickets_one_open_per_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_tickets_status_created_at", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    conversation_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    packet: Mapped[dict[str, Any]]

    replies: Mapped[list[ReplyRow]] = relationship(
        order_by="ReplyRow.id", cascade="all, delete-orphan", passive_deletes=True
    )


class ReplyRow(Base):
    __tablename__ = "ticket_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class OutboxRow(Base):
    # No foreign key to tickets: an undelivered event outlives its ticket's retention.
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(32), index=True)
    event: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    payload: Mapped[dict[str, Any]]
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text)


class AuditRow(Base):
    # What each agent read and did: internal documents in search and ask results, and tickets.
    __tablename__ = "agent_audit"
    __table_args__ = (Index("ix_agent_audit_agent_at", "agent", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    agent: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))  # search, ask, tickets, ticket, claim, ...
    target: Mapped[str] = mapped_column(String(200))  # a ticket id, or the question asked
    documents: Mapped[list[Any]]  # [{chunk_id, source}] of internal chunks read


class EventRow(Base):
    # What customers and agents did, for the insights: every search, question, hand-off and
    # feedback, with where it happened and who (anonymously) did it. No foreign keys: an
    # event outlives nothing and is purged by its own age.
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_visitor_at", "visitor_id", "at"),
        Index("ix_events_customer_at", "customer_id", "at"),
        Index("ix_events_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))  # search | ask | handoff | feedback
    surface: Mapped[str] = mapped_column(String(16))  # help | widget | agent | api
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(200))
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    turn_id: Mapped[str | None] = mapped_column(String(64))
    variant: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)  # the query, question or comment, redacted
    outcome: Mapped[str] = mapped_column(String(32))
    verification: Mapped[str] = mapped_column(String(16))  # passed | quoted | fallback | none
    generated_by: Mapped[str] = mapped_column(String(64))
    first_ms: Mapped[float | None] = mapped_column(Float)
    total_ms: Mapped[float | None] = mapped_column(Float)
    data: Mapped[dict[str, Any]]
