"""One registry style for every extension point, and the loader for a user's own ``module:Name``.

Every kind of extension (profiles, properties, strategies, explorers, backends) is a ``Registry``:
an object declares what it has and registers itself where it is defined; the registry checks the
declaration at once and fails at import with a message naming the file to edit (the lesson of
Hypothesis's ``InvalidDefinition``: a definition error is raised where it is made, and names the
fix). Nothing is listed by name in another package.

A user names their own extension as ``package.module:Name`` (a profile class, a strategy, a
property, a backend class). ``load_object`` imports it the way pytest finds conftest code: from the
current folder (``sys.path`` gets the working directory appended, after idemrace's own packages, so
ours always win), with one-line errors:

- a module whose top-level package has the name of one of idemrace's own (``model``, ``reports``,
  ...) cannot be the user's: that is a clash, and the message says to rename the package;
- a module that is not found, that raises on import, or lacks the name, is one line saying which.

Loading code is the only thing here that is not pure; the registries themselves are plain dicts.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# idemrace's own top-level packages: a user's module of one of these names cannot be loaded
# (ours win on sys.path), so naming one is reported as a clash rather than as "not found"
OWN_PACKAGES = frozenset(
    {
        "analysis",
        "backends",
        "catalog",
        "idemrace",
        "model",
        "properties",
        "reports",
        "simulator",
        "spin",
    }
)


class RegistrationError(ValueError):
    """A wrong or inconsistent registration, or a user reference that cannot be loaded. One line;
    for a registration it names the file to edit."""


def is_reference(name: str) -> bool:
    """``package.module:Name`` (a user's own extension), as opposed to a registered name."""
    module, sep, attr = name.partition(":")
    return bool(sep and module and attr) and "/" not in module


def user_path_entry() -> str:
    """The folder user code is found from: the working directory (as pytest roots conftest)."""
    return os.getcwd()


def ensure_user_path() -> None:
    """Let user modules be found from the working directory, after our own packages."""
    here = user_path_entry()
    if here not in sys.path:
        sys.path.append(here)


def load_object(ref: str, what: str) -> Any:
    """Import ``package.module:Name`` and return ``Name``; ``what`` says what it should be (for
    the messages: "profile", "strategy", ...). ``RegistrationError`` (one line) if it cannot."""
    module_name, _, attr = ref.partition(":")
    if not is_reference(ref):
        raise RegistrationError(f"{what} {ref!r}: expected package.module:Name")
    top = module_name.split(".")[0]
    ensure_user_path()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if top in OWN_PACKAGES and (Path(user_path_entry()) / top).exists():
            raise RegistrationError(
                f"{what} {ref!r}: your package {top!r} clashes with idemrace's own package "
                f"{top!r} (ours is imported first); rename yours"
            ) from None
        raise RegistrationError(
            f"{what} {ref!r}: cannot import {module_name!r}: {exc} (user modules are found from "
            f"the current folder {user_path_entry()} and PYTHONPATH)"
        ) from None
    except Exception as exc:  # the user's module raised while importing: say so, in one line
        raise RegistrationError(
            f"{what} {ref!r}: importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    if top in OWN_PACKAGES and not _is_ours(module):
        raise RegistrationError(
            f"{what} {ref!r}: {module_name!r} clashes with idemrace's own package {top!r}; rename it"
        )
    try:
        return getattr(module, attr)
    except AttributeError:
        raise RegistrationError(f"{what} {ref!r}: module {module_name!r} has no {attr!r}") from None


def _is_ours(module: Any) -> bool:
    own_root = Path(__file__).resolve().parent.parent
    file = getattr(module, "__file__", None)
    return file is not None and Path(file).resolve().is_relative_to(own_root)


class Registry(Generic[T]):
    """Named extensions of one kind. ``check`` validates an entry when it registers (it returns a
    message, or None when the entry is fine); ``where`` names the place to edit in messages;
    ``convert`` turns a loaded user object into an entry (or returns None if it is not one)."""

    def __init__(
        self,
        kind: str,
        where: str,
        name_of: Callable[[T], str],
        check: Callable[[T], str | None] = lambda _entry: None,
        convert: Callable[[Any], T | None] | None = None,
    ) -> None:
        self.kind = kind
        self.where = where
        self._name_of = name_of
        self._check = check
        self._convert = convert
        self._entries: dict[str, T] = {}

    def register(self, entry: T, origin: str | None = None) -> T:
        name = self._name_of(entry)
        origin = origin or self.where
        if not isinstance(name, str) or not name:
            raise RegistrationError(f"{origin}: a {self.kind} needs a non-empty name")
        if name in self._entries and self._entries[name] is not entry:
            raise RegistrationError(f"{origin}: {self.kind} {name!r} is registered twice")
        problem = self._check(entry)
        if problem:
            raise RegistrationError(f"{origin}: {self.kind} {name!r}: {problem}")
        self._entries[name] = entry
        return entry

    def resolve(self, name: str) -> T:
        """A registered name, or a user's ``package.module:Name`` (loaded and registered under
        that reference). ``KeyError`` with the one-line message for anything else."""
        if name in self._entries:
            return self._entries[name]
        if is_reference(name):
            loaded = load_object(name, self.kind)
            entry = self._convert(loaded) if self._convert else loaded
            if entry is None:
                raise RegistrationError(f"{self.kind} {name!r}: {type(loaded).__name__} is not a {self.kind}")
            problem = self._check(entry)
            if problem:
                raise RegistrationError(f"{self.kind} {name!r}: {problem}")
            self._entries[name] = entry
            return entry
        raise KeyError(self.unknown(name))

    def unknown(self, name: str) -> str:
        return (
            f"unknown {self.kind} {name!r}; allowed: {', '.join(sorted(self.builtin_names()))}, "
            f"or package.module:Name for your own (a new built-in one is registered in {self.where})"
        )

    def builtin_names(self) -> list[str]:
        return [n for n in self._entries if not is_reference(n)]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self._entries.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def items(self):
        return self._entries.items()

    def values(self):
        return self._entries.values()

    def keys(self):
        return self._entries.keys()


__all__ = [
    "OWN_PACKAGES",
    "RegistrationError",
    "Registry",
    "ensure_user_path",
    "is_reference",
    "load_object",
]
