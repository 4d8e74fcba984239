"""The durable store: conversations, feedback, hand-off tickets and the webhook outbox, in
SQLite (the default, in the data folder) or PostgreSQL (HELPDESK_DATABASE_URL).

Writes of conversations go through a background queue and never slow an answer; reads raise
:class:`StoreUnavailable` (503) when the database is down or locked, never a 500.
"""

from __future__ import annotations

from ..errors import StoreUnavailable, TicketConflict, TicketNotFound
from .records import (
    EVENT_KINDS,
    EVENT_SURFACES,
    AuditEntry,
    Delivery,
    Event,
    FeedbackRecord,
    Reply,
    ReviewedTurn,
    Ticket,
    TurnRecord,
)
from .store import Store
from .webhook import WebhookDeliverer

__all__ = [
    "EVENT_KINDS",
    "EVENT_SURFACES",
    "AuditEntry",
    "Delivery",
    "Event",
    "FeedbackRecord",
    "Reply",
    "ReviewedTurn",
    "Store",
    "StoreUnavailable",
    "Ticket",
    "TicketConflict",
    "TicketNotFound",
    "TurnRecord",
    "WebhookDeliverer",
]
