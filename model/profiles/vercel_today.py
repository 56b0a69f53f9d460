"""``vercel-today``: Vercel Workflow v4 as shipped.

``start()`` always creates a run; the key is claimed later, inside the body, as a hook token; the
token is released when the run reaches a terminal state; nothing is remembered after that.
"""

from __future__ import annotations

from model.profiles.base import V4World


class VercelToday(V4World):
    name = "vercel-today"
    description = "v4: start always creates a run, the body claims the key as a hook token"
