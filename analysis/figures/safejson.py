"""Strict JSON: no ``NaN`` or ``Infinity`` in anything written, and JSON safe inside HTML.

``json.dumps`` writes ``NaN``/``Infinity`` by default, which is not JSON (RFC 8259 section 6):
``JSON.parse`` in the browser throws on it, which once stopped a report's chart loop.
:func:`strict` replaces every non-finite float by ``null`` and returns where it did, so the
writer can attach a note; :func:`dumps` refuses anything left over (``allow_nan=False``).

JSON embedded in an HTML ``<script>`` element must not contain ``</script>`` nor ``<!--``
(which switches the HTML tokenizer into the "script data escaped" states and can swallow the
rest of the page; HTML Living Standard 13.2.5.4ff), and U+2028/U+2029 are escaped for old
JavaScript parsers.  :func:`script_json` escapes ``<``, ``>``, ``&``, U+2028 and U+2029 as
``\\uXXXX`` escapes, which every JSON parser reads back as the same characters.
"""

from __future__ import annotations

import json
import math
from typing import Any

_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
NOTE_KEY = "exodus_nonfinite"


def strict(obj: Any, path: str = "$") -> tuple[Any, list[str]]:
    """A copy of ``obj`` with every NaN/Infinity float replaced by None, and the JSON paths
    (``$.a[3].b``) of the replaced values.  Tuples become lists; other values are unchanged."""
    notes: list[str] = []

    def walk(o: Any, where: str) -> Any:
        if isinstance(o, float) and not math.isfinite(o):
            notes.append(f"{where}: {o!r} written as null")
            return None
        if isinstance(o, dict):
            return {k: walk(v, f"{where}.{k}") for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [walk(v, f"{where}[{i}]") for i, v in enumerate(o)]
        return o

    return walk(obj, path), notes


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` with non-finite floats written as null (see :func:`strict`), never NaN."""
    clean, _ = strict(obj)
    return json.dumps(clean, allow_nan=False, **kwargs)


def strict_spec(spec: dict) -> dict:
    """A Vega-Lite spec with non-finite values as null (Vega-Lite drops null quantitative
    values by default) and a note under ``usermeta.exodus_nonfinite`` saying which."""
    clean, notes = strict(spec)
    if notes:
        meta = dict(clean.get("usermeta") or {})
        meta[NOTE_KEY] = notes[:50] + ([f"... and {len(notes) - 50} more"] if len(notes) > 50 else [])
        clean["usermeta"] = meta
    return clean


def script_json(obj: Any, **kwargs: Any) -> str:
    """Strict JSON to embed in an HTML ``<script>`` element (see module docstring)."""
    text = dumps(obj, **kwargs)
    for ch, esc in _HTML_ESCAPES.items():
        text = text.replace(ch, esc)
    return text
