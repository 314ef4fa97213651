"""Package facades: what a service package shows the rest of the app.

A package's ``__init__`` re-exports the names other packages and the views use, and they
look them up on it at call time (``from app.services import bookings; bookings.create(...)``);
modules inside the package import each other directly, never their own facade.

A test may patch a name on the facade only where the facade is where it is looked up: by
callers outside the package. If a module inside the package reads the name from its own
globals, a patch on the facade would not reach that call and the test would pass without
testing what it meant to; the sealed facade refuses such a patch at once and says which
module to patch instead.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from types import ModuleType


class SealedPackageError(AttributeError):
    """A name was assigned on a sealed package facade where no patch there could work."""


class SealedPackage(ModuleType):
    """A package module whose re-exported names can be patched only where that has an effect."""

    def __setattr__(self, name: str, value: object) -> None:
        # The import system sets dunders and binds each submodule on its package as it loads.
        if name.startswith("__") or isinstance(value, ModuleType):
            super().__setattr__(name, value)
            return
        readers = [] if name in self.__dict__ else ["(it is not one of the package's names)"]
        readers += internal_readers(self.__name__, name)
        if readers:
            raise SealedPackageError(
                f"{self.__name__} is a sealed package facade: {name!r} is read inside the package by {', '.join(readers)}, "
                "so a patch on the facade would not reach those calls. Patch it in the module that looks it up."
            )
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if not name.startswith("__") and name not in self.__dict__:
            raise SealedPackageError(f"{self.__name__} has no {name!r} to remove")
        super().__delattr__(name)


def seal(package_name: str) -> None:
    """Seal a package facade: call it last in the package's ``__init__``."""
    sys.modules[package_name].__class__ = SealedPackage


def internal_readers(package_name: str, name: str) -> list[str]:
    """The modules of the package whose code reads ``name`` from its own globals (an
    over-estimate: an attribute of that name counts too, which only refuses more)."""
    found = []
    for module_name, module in sorted(sys.modules.items()):
        if module is None or not module_name.startswith(package_name + "."):
            continue
        if any(name in code.co_names for code in _code_of(module)):
            found.append(module_name)
    return found


def _code_of(module: ModuleType) -> Iterator[types.CodeType]:
    """Every code object of the functions and methods a module defines, nested ones too."""
    for value in list(vars(module).values()):
        if getattr(value, "__module__", None) != module.__name__:
            continue
        members = vars(value).values() if isinstance(value, type) else (value,)
        for member in members:
            for function in _functions(member):
                yield from _nested(function.__code__)


def _functions(member: object) -> Iterator[types.FunctionType]:
    if isinstance(member, (staticmethod, classmethod)):
        member = member.__func__
    if isinstance(member, property):
        yield from (f for f in (member.fget, member.fset, member.fdel) if isinstance(f, types.FunctionType))
    elif isinstance(member, types.FunctionType):
        yield member


def _nested(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _nested(const)
