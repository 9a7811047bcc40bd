"""Fixtures of the plan and draw tests."""

from __future__ import annotations

import pytest

from ...draw_world import populate


@pytest.fixture
def registry(session, world):
    return populate(session, world["a"])
