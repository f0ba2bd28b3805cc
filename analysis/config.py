"""One place for the project's paths and every ``EXODUS_*`` environment variable
(cookiecutter-data-science style).  No other module reads an ``EXODUS_*`` variable
(``tests/test_layout.py`` checks it); each variable is read here, when it is asked for, so tests
can relocate things with ``monkeypatch.setenv``.

- ``EXODUS_REPORTS_DIR``: report versions (:func:`reports_dir`).
- ``EXODUS_SHARED_DATA``: third-party data beside the project, read only in tests and development.
- ``EXODUS_CACHE_DIR``: downloaded files (:func:`cache_dir`, default ``data/cache``).
- ``EXODUS_LOCKS_DIR``: study locks (:func:`locks_dir`, default ``data/locks``).
- ``EXODUS_DATA_MIRROR``: an offline copy of the app-rankings archive (:func:`data_mirror`).
- ``EXODUS_GITHUB_API``, ``EXODUS_RAW_BASE``: base URLs of the GitHub API and raw files.
- ``EXODUS_WIKIMEDIA_API``: base URL of the Wikimedia REST API (default
  https://wikimedia.org/api/rest_v1; a loopback server in tests); ``EXODUS_WIKIMEDIA_CONTACT``:
  an e-mail or URL put in the User-Agent, as Wikimedia's policy asks.
- ``EXODUS_WIKIDATA_API``: the Wikidata action API (default https://www.wikidata.org/w/api.php; a
  loopback server in tests), read by :func:`wikidata_api`.
- ``EXODUS_WIKIMEDIA_DP``: base URL of Wikimedia's differentially-private per-country pageview
  release (:func:`wikimedia_dp_base`, default the published ``country_project_page_historical`` path).
- ``EXODUS_RUN``: set to ``1`` in the kernels of ``exodus run`` (:data:`RUN_FLAG`, :func:`in_report_run`).

``GITHUB_TOKEN`` (optional, GitHub API only) is read here too (:func:`github_token`).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
DATA = ROOT / "data"
EVENTS = DATA / "events"
EVENTS_FILE = EVENTS / "events_jan2021.csv"

RUN_FLAG = "EXODUS_RUN"  # the runner sets it to "1" in the kernel's environment (report.run.RUN_ENV)
DEFAULT_GITHUB_API = "https://api.github.com"
DEFAULT_RAW_BASE = "https://raw.githubusercontent.com"


def in_report_run() -> bool:
    """True inside a kernel started by ``exodus run`` (``EXODUS_RUN=1``)."""
    return os.environ.get(RUN_FLAG) == "1"


def cache_dir() -> Path:
    """Downloaded files (``EXODUS_CACHE_DIR``; default ``data/cache``)."""
    return Path(os.environ.get("EXODUS_CACHE_DIR", DATA / "cache"))


def locks_dir() -> Path:
    """Directory of the study locks (``EXODUS_LOCKS_DIR``; default ``data/locks``)."""
    return Path(os.environ.get("EXODUS_LOCKS_DIR", DATA / "locks"))


def data_mirror() -> Path | None:
    """An offline copy of the app-rankings archive (``EXODUS_DATA_MIRROR``), or None when unset."""
    m = os.environ.get("EXODUS_DATA_MIRROR")
    return Path(m) if m else None


def github_api() -> str:
    """Base URL of the GitHub API (``EXODUS_GITHUB_API``), without a trailing slash."""
    return os.environ.get("EXODUS_GITHUB_API", DEFAULT_GITHUB_API).rstrip("/")


def raw_base() -> str:
    """Base URL of raw GitHub files (``EXODUS_RAW_BASE``), without a trailing slash."""
    return os.environ.get("EXODUS_RAW_BASE", DEFAULT_RAW_BASE).rstrip("/")


def github_token() -> str | None:
    """``GITHUB_TOKEN`` (optional; raises the GitHub API's rate limit), or None."""
    return os.environ.get("GITHUB_TOKEN") or None


def reports_dir() -> Path:
    """Directory holding ``<study>/<version>/`` report versions and ``index.html``."""
    return Path(os.environ.get("EXODUS_REPORTS_DIR", ROOT / "reports"))


def shared_data_dir() -> Path:
    """Third-party data beside the project (``../shared/data``); never copied into it."""
    return Path(os.environ.get("EXODUS_SHARED_DATA", ROOT.parent / "shared" / "data"))


DEFAULT_WIKIMEDIA_API = "https://wikimedia.org/api/rest_v1"


def wikimedia_api() -> str:
    """Base URL of the Wikimedia REST API (``EXODUS_WIKIMEDIA_API``), without a trailing slash."""
    return os.environ.get("EXODUS_WIKIMEDIA_API", DEFAULT_WIKIMEDIA_API).rstrip("/")


DEFAULT_WIKIDATA_API = "https://www.wikidata.org/w/api.php"


def wikidata_api() -> str:
    """The Wikidata action API endpoint (``EXODUS_WIKIDATA_API``; default
    https://www.wikidata.org/w/api.php), called with ``?action=wbgetentities&ids=...``."""
    return os.environ.get("EXODUS_WIKIDATA_API", DEFAULT_WIKIDATA_API).strip()


def wikimedia_user_agent() -> str:
    """User-Agent for Wikimedia: the tool, its version and a contact (``EXODUS_WIKIMEDIA_CONTACT``);
    https://meta.wikimedia.org/wiki/User-Agent_policy asks for a way to reach the operator."""
    contact = os.environ.get("EXODUS_WIKIMEDIA_CONTACT", "").strip() or "contact: set EXODUS_WIKIMEDIA_CONTACT"
    return f"exodus-research-package/1.0 (research on January 2021 app migrations; {contact}) python-urllib"


DEFAULT_WIKIMEDIA_DP = "https://analytics.wikimedia.org/published/datasets/country_project_page_historical"


def wikimedia_dp_base() -> str:
    """Base URL of the differentially-private country x project x page release
    (``EXODUS_WIKIMEDIA_DP``; a loopback server in tests), without a trailing slash."""
    return os.environ.get("EXODUS_WIKIMEDIA_DP", DEFAULT_WIKIMEDIA_DP).rstrip("/")
