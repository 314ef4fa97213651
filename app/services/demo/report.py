"""What a demo load did, and the guard that keeps demo data out of production."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from app.config import is_production
from app.services.errors import DomainError

Progress = Callable[[str], None]


class DemoRefused(DomainError):
    """Demo data may only be loaded in demo mode."""


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int = 1) -> None:
        self.created[kind] = self.created.get(kind, 0) + n

    @property
    def changed(self) -> bool:
        return any(self.created.values())


def refuse_unless_demo(demo_mode: bool) -> None:
    """Demo data (accounts with a published password) only in demo mode, and never in
    production whatever DEMO_MODE says: the production configuration refuses DEMO_MODE
    too, and this checks again in case a setting was changed after start-up."""
    if is_production(current_app.config):
        raise DemoRefused("Demo data is never loaded in production (APP_ENV=production).")
    if not demo_mode:
        raise DemoRefused("Demo data can only be loaded in demo mode (DEMO_MODE=1), never in production.")
