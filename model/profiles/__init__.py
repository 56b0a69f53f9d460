"""Profiles by name. Later profiles register here behind the same ``Profile`` interface."""

from __future__ import annotations

from typing import Any

from model.profiles.base import ModelError, Option, Profile, V4World
from model.profiles.dbos import Dbos
from model.profiles.inngest import Inngest
from model.profiles.temporal import Temporal
from model.profiles.vercel_attributes import VercelAttributeLookup
from model.profiles.vercel_keyed import VercelKeyedStart
from model.profiles.vercel_today import VercelToday

# one line per profile; keep alphabetical
PROFILE_CLASSES: tuple[type[Profile], ...] = (
    Dbos,
    Inngest,
    Temporal,
    VercelAttributeLookup,
    VercelKeyedStart,
    VercelToday,
)
PROFILES: dict[str, type[Profile]] = {cls.name: cls for cls in PROFILE_CLASSES}


def make_profile(name: str, **options: Any) -> Profile:
    try:
        cls = PROFILES[name]
    except KeyError:
        allowed = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown profile {name!r}; allowed: {allowed}") from None
    return cls(**options)


__all__ = ["PROFILES", "ModelError", "Option", "Profile", "V4World", "make_profile"]
