"""``idemrace export-finding FINDING``: a finding under ``race-reports/backends/`` as a standalone
Node test file (``node:test``) a World author runs against their package with no Python
(``backends/vercel/export.py`` says how it is made)."""

from __future__ import annotations

import sys
from pathlib import Path

from idemrace.commands.common import EXIT_OK, UsageError

NAME = "export-finding"
HELP = "export a Vercel World finding as a standalone node:test file"
DESCRIPTION = """\
Export a finding under race-reports/backends/ as a standalone Node test file (node:test): the
recorded interleaving replayed on two World instances of the package, held in the package's own
driver, asserting the culprit answers as the model allows. A World author drops the file into
their repository and runs it against their package with no Python.

examples:
  idemrace export-finding vercel-postgres-token-race -o token-race.test.mjs
  idemrace export-finding vercel-claim-after-end-leaks-token --package @workflow/world-local@4.4.1
  node --test token-race.test.mjs
"""


def add_arguments(p) -> None:
    p.add_argument("finding", metavar="FINDING", help="a folder name under race-reports/backends/")
    p.add_argument(
        "--package",
        metavar="NAME@VERSION",
        help="record the interleaving on this World (default: the first one the finding holds on)",
    )
    p.add_argument("-o", "--output", type=Path, help="write the file here (default: stdout)")


def run(args) -> int:
    from backends.protocol import BackendUnavailable
    from backends.vercel.matrix import FINDINGS_DIR, findings

    if args.finding not in findings():
        known = ", ".join(findings())
        raise UsageError(f"no finding {args.finding!r} under {FINDINGS_DIR} (known: {known})")
    from backends.vercel.export import export

    try:
        text = export(args.finding, args.package)
    except BackendUnavailable as exc:
        raise UsageError(str(exc).splitlines()[0]) from None
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
        print(f"wrote {args.output} (run: node --test {args.output.name})", file=sys.stderr)
    return EXIT_OK
