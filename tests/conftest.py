from __future__ import annotations

import pytest

from idemrace.loader import catalog


@pytest.fixture
def reject_retry():
    return catalog()["reject-retry-after-completion"]
