from __future__ import annotations

import pytest

from catalog import catalog


@pytest.fixture
def reject_retry():
    return catalog()["reject-retry-after-completion"]


def pytest_collection_modifyitems(config, items):
    """``slow`` tests (long searches) run only when the marker expression names them
    (``-m slow``, ``-m "slow or not slow"``); otherwise they are skipped, saying how to run them."""
    if "slow" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason='slow: run with -m slow (or -m "slow or not slow")')
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
