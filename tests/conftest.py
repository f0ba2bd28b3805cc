"""Shared fixtures.  Real third-party data are read from ../shared/data, never copied."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.config import shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if not d.exists():
        pytest.skip(f"shared data directory {d} not present")
    return d


@pytest.fixture(scope="session")
def demo():
    from analysis.data.demo import generate_demo

    return generate_demo()
