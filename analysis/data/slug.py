"""Confinement by construction: the only way a name taken from data reaches a file path.

A name that comes from data (an app, an article, a country, an event) never becomes part of a
path directly.  :func:`slug` maps it to ``[a-z0-9_-]`` and, whenever the name had to change
(case, spaces, slashes, dots, anything else), appends the first 8 hex digits of the name's
SHA-256, so two different names never share a slug in practice ("Signal" and "signal" differ)
and a slug never contains a path separator or ``..``.  :func:`inside` resolves a path and checks
that it lies inside its root (a version directory, the cache, a mirror), raising
:class:`PathEscape` otherwise; every writer and reader of such paths goes through it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from analysis.errors import InputError

_SAFE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_HASHED = re.compile(r"-[0-9a-f]{8}$")  # what every changed name ends with: a name that does is changed too
MAX_BASE = 48


class PathEscape(InputError):
    """A path built from data or a lock entry would leave its root directory."""


def slug(name: str) -> str:
    """``name`` itself if it is already ``[a-z0-9][a-z0-9_-]*`` (at most 64 characters) and does
    not end like a changed name (``-`` and 8 hex digits), else a readable ``[a-z0-9_-]`` base (``n``
    when nothing is left) plus ``-`` and 8 hex digits of SHA-256(name).  So a name never takes
    another's slug: an app literally called ``signal-1a2b3c4d`` is changed too (issue 20)."""
    text = str(name)
    if _SAFE.fullmatch(text) and not _HASHED.search(text):
        return text
    base = re.sub(r"[^a-z0-9_-]+", "_", text.lower()).strip("_-")[:MAX_BASE].rstrip("_-")
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{base or 'n'}-{digest}"


def inside(root: str | Path, path: str | Path, what: str = "path") -> Path:
    """``path`` resolved (symlinks followed, ``..`` collapsed), checked to lie inside ``root``.

    Raises :class:`PathEscape` naming both when it does not; returns the resolved path.
    """
    base = Path(root).resolve()
    target = (base / path).resolve() if not Path(path).is_absolute() else Path(path).resolve()
    if target != base and not target.is_relative_to(base):
        raise PathEscape(f"{what} {str(path)!r} resolves to {target}, outside {base}; refused")
    return target
