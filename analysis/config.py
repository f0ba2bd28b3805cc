"""One place for the project's paths (cookiecutter-data-science style).

Environment variables let tests and users relocate outputs and inputs without editing code:
``EXODUS_REPORTS_DIR`` (report versions), ``EXODUS_SHARED_DATA`` (third-party data beside
the project, read only in tests and development), ``EXODUS_WIKIMEDIA_API`` (base URL of the
Wikimedia REST API, default https://wikimedia.org/api/rest_v1; a loopback server in tests),
``EXODUS_WIKIMEDIA_CONTACT`` (an e-mail or URL put in the User-Agent, as Wikimedia's policy asks).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
DATA = ROOT / "data"
EVENTS = DATA / "events"
EVENTS_FILE = EVENTS / "events_jan2021.csv"


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


def wikimedia_user_agent() -> str:
    """User-Agent for Wikimedia: the tool, its version and a contact (``EXODUS_WIKIMEDIA_CONTACT``);
    https://meta.wikimedia.org/wiki/User-Agent_policy asks for a way to reach the operator."""
    contact = os.environ.get("EXODUS_WIKIMEDIA_CONTACT", "").strip() or "contact: set EXODUS_WIKIMEDIA_CONTACT"
    return f"exodus-research-package/1.0 (research on January 2021 app migrations; {contact}) python-urllib"
