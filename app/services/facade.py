"""Package facades: what a service package shows the rest of the app.

A package's ``__init__`` re-exports the names other packages and the views use (``from
app.services import bookings; bookings.create(...)``); modules inside the package import
each other directly, never their own facade. The facade is then sealed: assigning a name
on it raises. A test that patched a name on the facade would change nothing the package
itself calls (its modules look names up in their own globals), and would pass without
testing what it meant to; sealed, it fails at once and says where to patch instead.
"""

from __future__ import annotations

import sys
from types import ModuleType


class SealedPackageError(AttributeError):
    """A name was assigned on a sealed package facade."""


class SealedPackage(ModuleType):
    """A package module whose re-exported names cannot be replaced (submodules still load)."""

    def __setattr__(self, name: str, value: object) -> None:
        # The import system sets dunders and binds each submodule on its package as it loads.
        if name.startswith("__") or isinstance(value, ModuleType):
            super().__setattr__(name, value)
            return
        raise SealedPackageError(_refusal(self, name))

    def __delattr__(self, name: str) -> None:
        if name.startswith("__"):
            super().__delattr__(name)
            return
        raise SealedPackageError(_refusal(self, name))


def _refusal(package: ModuleType, name: str) -> str:
    found = package.__dict__.get(name)
    home = getattr(found, "__module__", None)
    where = f"in {home}, or in the module that calls it" if home and home != package.__name__ else "in the module that looks it up"
    return (
        f"{package.__name__} is a sealed package facade: patch {name!r} {where}, "
        "not on the facade (nothing inside the package reads it there)"
    )


def seal(package_name: str) -> None:
    """Seal a package facade: call it last in the package's ``__init__``."""
    sys.modules[package_name].__class__ = SealedPackage
