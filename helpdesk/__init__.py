"""helpdesk: a self-hosted Korean/English help-center assistant with grounded, cited answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from .config import Settings
    from .service import Helpdesk

__all__ = ["create_app"]
__version__ = "0.1.0"


def create_app(settings: Settings | None = None, helpdesk: Helpdesk | None = None) -> Flask:
    """The Flask app factory. Nothing heavy is built here: models load on first use."""
    from .api import build_app

    return build_app(settings, helpdesk)
