"""The engine for a database URL (SQLite or PostgreSQL), its migrations, and which errors
mean "the database is unavailable"."""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.engine import URL, make_url

from ..errors import ConfigError, StoreUnavailable

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
URL_SETTING = "HELPDESK_DATABASE_URL"
# A waiting writer gives up after this and is retried by the write queue; a read fails fast.
SQLITE_BUSY_TIMEOUT_MS = 1000
# A PostgreSQL server that is down fails a connection in seconds, not after the OS's minutes.
CONNECT_TIMEOUT_S = 3
# Any constant works, as long as every helpdesk process uses the same one.
MIGRATION_LOCK_KEY = 0x68656C70  # "help"

# Errors that say the database cannot be reached or used right now, not that a query is wrong.
UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError, OSError)


def parse_url(url: str) -> URL:
    """The URL, or a ConfigError naming HELPDESK_DATABASE_URL."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise ConfigError(
            f"{URL_SETTING}: not a database URL (expected sqlite:///PATH or "
            "postgresql+psycopg://USER:PASSWORD@HOST/DB)"
        ) from None
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigError(
            f"{URL_SETTING}: {parsed.get_backend_name()!r} is not supported; "
            "use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB"
        )
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is what ships
    return parsed


def display(url: URL) -> str:
    """The URL with its password hidden."""
    return url.render_as_string(hide_password=True)


def make_engine(url: URL) -> Engine:
    """An engine with the settings each database needs: WAL and a busy timeout for SQLite,
    pre-ping and a short connect timeout for PostgreSQL."""
    try:
        if url.get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            event.listen(engine, "connect", _sqlite_on_connect)
            return engine
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_timeout=CONNECT_TIMEOUT_S,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        )
    except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as error:
        raise ConfigError(f"{URL_SETTING}: {error}") from None


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never wait for the writer, and a second process can share the file.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def unavailable(error: BaseException) -> StoreUnavailable:
    """The StoreUnavailable an operational error becomes (the driver's text, no password)."""
    detail = getattr(error, "orig", None) or error
    first_line = str(detail).strip().splitlines()[0] if str(detail).strip() else type(error)
    return StoreUnavailable(f"the database is unavailable: {first_line}")


def _config(connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest migration this code ships."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None before the first)."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except UNAVAILABLE as error:
        raise unavailable(error) from error


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest migration; two processes starting at once take turns."""
    try:
        with _migration_lock(engine), engine.connect() as connection:
            command.upgrade(_config(connection), "head")
            connection.commit()
    except UNAVAILABLE as error:
        raise unavailable(error) from error


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                connection.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield  # an in-memory database belongs to one process
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
