"""Profiles by name: every ``Profile`` subclass with its own ``name`` in a module of this folder.

Each module here is imported once, in name order, and its profiles register themselves
(``Profile.__init_subclass__``): adding a profile is adding one file. A user's own profile is named
as ``package.module:ClassName`` in a scenario and loaded by ``PROFILES.resolve``.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from model.profiles.base import PROFILES, MatrixRow, ModelError, Option, Profile, V4World
from model.registry import RegistrationError

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"):
    importlib.import_module(f"{__name__}.{_module}")


def profile_class(name: str) -> type[Profile]:
    """A registered profile name or a user's ``package.module:ClassName``; ``ValueError`` (one
    line) otherwise."""
    try:
        return PROFILES.resolve(name)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    except RegistrationError as exc:
        raise ValueError(str(exc)) from None


def make_profile(name: str, **options: Any) -> Profile:
    return profile_class(name)(**options)


__all__ = [
    "PROFILES",
    "MatrixRow",
    "ModelError",
    "Option",
    "Profile",
    "V4World",
    "make_profile",
    "profile_class",
]
