"""The ``wiki-dp`` study: Wikimedia's differentially-private pageviews per country (issue 18).

Reads the lock ``data/locks/wiki-dp.json`` (``EXODUS_LOCKS_DIR`` relocates it) and the cached,
verified rows (:mod:`analysis.data.wikimedia_dp`); never the network.
"""

from __future__ import annotations

from pathlib import Path

from analysis.config import locks_dir


def dp_lock() -> Path:
    """``data/locks/wiki-dp.json`` (``EXODUS_LOCKS_DIR`` relocates the directory)."""
    return locks_dir() / "wiki-dp.json"
