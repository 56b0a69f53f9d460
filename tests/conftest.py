from __future__ import annotations

import pytest

from catalog import catalog


@pytest.fixture
def reject_retry():
    return catalog()["reject-retry-after-completion"]


# markers whose tests run only when the marker expression names them
OPT_IN = {
    "slow": 'slow: run with -m slow (or -m "slow or not slow")',
    "huge": "huge (several minutes and a few GB of memory each): run with -m huge",
}


def pytest_collection_modifyitems(config, items):
    """``slow`` tests (long searches) and ``huge`` ones (searches of millions of states, minutes each)
    run only when the marker expression names them (``-m slow``, ``-m "slow or not slow"``,
    ``-m huge``); otherwise they are skipped, saying how to run them."""
    expression = config.option.markexpr or ""
    for marker, reason in OPT_IN.items():
        if marker in expression:
            continue
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)
