"""helpdesk: a self-hosted Korean/English help-center assistant with grounded, cited answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["create_app"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # ``helpdesk.create_app`` is the app factory of helpdesk.app, imported on first use so that
    # ``import helpdesk`` (the CLI, ingest) does not pull in Flask.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'helpdesk' has no attribute {name!r}")
