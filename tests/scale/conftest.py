"""A private PostgreSQL database per test: replicas only share work on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import POSTGRES_URL
from tests.postgres import LOCAL_POSTGRES, fresh_database


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the local server; the test is skipped when none answers."""
    yield from fresh_database(POSTGRES_URL or LOCAL_POSTGRES, "ww_scale")
