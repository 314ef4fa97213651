"""Domain errors raised by services and translated into responses at the edge."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: something the user asked for cannot be done, for a stated reason."""


class NotFound(DomainError):
    """The object does not exist, is not public, or is not yours: always answered 404."""


class ValidationError(DomainError):
    """Input broke a rule. ``errors`` maps field names to messages a person can act on."""

    def __init__(self, errors: dict[str, str] | str):
        if isinstance(errors, str):
            errors = {"__all__": errors}
        self.errors = errors
        super().__init__("; ".join(errors.values()))


class Conflict(DomainError):
    """The action clashes with the current state (already taken, already done, too late)."""


class InvalidTransition(Conflict):
    """A status change that the state machine does not allow."""
