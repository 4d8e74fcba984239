"""Alembic's entry point. helpdesk passes its own connection (Store.migrate, `helpdesk db
upgrade`); the alembic command line, for writing a new migration, uses alembic.ini's URL or
HELPDESK_DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine

from helpdesk.store.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: later migrations copy the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = os.environ.get("HELPDESK_DATABASE_URL") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("set HELPDESK_DATABASE_URL or sqlalchemy.url in alembic.ini")
    with create_engine(url).connect() as own_connection:
        _run(own_connection)
        own_connection.commit()
