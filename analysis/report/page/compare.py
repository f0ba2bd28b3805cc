"""Comparing report versions in the answer's own terms.

A reviewer comparing two versions wants to know what changed in the *answer*, not in raw
log ranks: this module turns a version into

- its **changed parameters**: the values that differ from its study's defaults (the defaults
  of :class:`analysis.params.StudyParams` overlaid with the study's own,
  :func:`analysis.data.studies.registry.study_defaults`), which also label the version in menus;
- its **answer terms**: per app x country x store and attribution group, the multiple in the
  direction of more use as ``"×k (lo–hi)"``, a bound as ``"≥ ×k"`` (or ``"≤ ×k"``), or "not
  identified".  They come from the attribution table ``tables/<notebook>-attribution.csv``
  when a version has one (groups ``deplatforming``, ``privacy_shock``, ``other``,
  ``all_events``; columns ``multiple``, ``multiple_low``, ``multiple_high``, ``kind``), and
  otherwise from the manifest's headline (window averages = all events together);
- the **default pair** to compare: the two newest versions of the same study, never a pair
  that crosses studies when a study has two versions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from analysis.data import outcome as O
from analysis.report.answer.sentences import fmt

ATTRIBUTION_GLOB = "tables/*-attribution.csv"
GROUP_LABELS = {"deplatforming": "deplatforming", "privacy_shock": "privacy shock", "other": "other events",
                "all_events": "all events"}
SKIP = frozenset({"output_dir", "study"})


def multiple_text(kind: str | None, m: float | None, lo: float | None, hi: float | None) -> str:
    """'×40 (25–60)'; a one-sided bound 'at least' as '≥ ×25' ('≤ ×k' for at most); 'not
    identified'.  The multiples are in the direction of more use (above 1 = more use)."""
    ok = lambda x: x is not None and math.isfinite(x)  # noqa: E731
    if kind == "not_identified" or not (ok(m) or ok(lo) or ok(hi)):
        return "not identified"
    if ok(lo) and not ok(hi):
        return f"\u2265 \u00d7{fmt(lo)}"
    if ok(hi) and not ok(lo):
        return f"\u2264 \u00d7{fmt(hi)}"
    if not ok(m):
        return f"\u00d7{fmt(lo)}\u2013{fmt(hi)}"
    return f"\u00d7{fmt(m)} ({fmt(lo)}\u2013{fmt(hi)})"


def headline_multiples(h: dict) -> tuple[float | None, float | None, float | None]:
    """(multiple, low, high) in the direction of more use from a manifest headline row (log-rank
    or log-views effect with its interval; :func:`analysis.data.outcome.multiple`)."""
    outcome = h.get("outcome", "rank")
    est, lo, hi = O.to_rank_scale(h.get("estimate"), h.get("ci_low"), h.get("ci_high"), outcome)
    m = lambda x: None if x is None else math.exp(-x)  # noqa: E731  (rank scale: negative = more)
    return m(est), m(hi), m(lo)


def _series(app: str, country: str, store: str) -> str:
    return f"{app} {country.upper()} {store}"


def answer_terms(version_dir: Path, manifest: dict) -> list[dict]:
    """The version's answer in the headline's terms: one row per series and group with
    ``series``, ``group``, ``kind`` and ``text`` (:func:`multiple_text`); see the module docstring."""
    found = sorted(Path(version_dir).glob(ATTRIBUTION_GLOB))
    if found:
        import polars as pl

        t = pl.read_csv(found[0], infer_schema_length=None)
        return [{"series": _series(r["app_name"], r["country"], r["store"]), "group": r["group"], "kind": r["kind"],
                 "text": multiple_text(r["kind"], r.get("multiple"), r.get("multiple_low"), r.get("multiple_high"))}
                for r in t.iter_rows(named=True)]
    rows = []
    for h in manifest.get("headline") or []:
        m, lo, hi = headline_multiples(h)
        rows.append({"series": h["series"], "group": "all_events", "kind": h.get("kind"),
                     "text": multiple_text(h.get("kind"), m, lo, hi)})
    return rows


def terms_map(terms: Sequence[dict]) -> dict[str, str]:
    """``{"Signal US ios · all events": "×40 (25–60)", ...}``: the compare widget's estimates."""
    return {f"{t['series']} \u00b7 {GROUP_LABELS.get(t['group'], t['group'])}": t["text"] for t in terms}


@cache
def study_default_values(study: str) -> dict:
    """Every parameter's default for ``study`` (JSON-comparable values); the plain defaults when
    the study's own cannot be read (e.g. wiki-views without its lock)."""
    from analysis.data.studies.registry import study_defaults
    from analysis.errors import ExodusError
    from analysis.params import StudyParams, resolve

    try:
        return resolve({}, study_defaults(study)).as_dict()
    except (ExodusError, OSError, ValueError):
        return StudyParams().as_dict()


def changed_parameters(manifest: dict) -> dict:
    """The manifest's parameters that differ from its study's defaults (renamed parameters of
    older manifests compared under their new name)."""
    from analysis.params import RENAMED

    defaults = study_default_values(str(manifest.get("study")))
    out = {}
    for name, value in (manifest.get("parameters") or {}).items():
        key = RENAMED[name][0] if name in RENAMED else name
        if key in SKIP:
            continue
        if key not in defaults or defaults[key] != value:
            out[key] = value
    return out


def changed_text(changed: dict, limit: int = 4) -> str:
    """'apps=Telegram,Signal; countries=us,in' (lists comma-joined); 'defaults' when empty."""
    if not changed:
        return "defaults"
    one = lambda v: ",".join(map(str, v)) if isinstance(v, list) else str(v)  # noqa: E731
    parts = [f"{k}={one(v)}" for k, v in sorted(changed.items())]
    return "; ".join(parts[:limit]) + (f"; +{len(parts) - limit} more" if len(parts) > limit else "")


def version_label(row: dict) -> str:
    """Menu label: 'demo · 2026-12-03 07:31 · apps=Telegram · …abc123 (complete)'."""
    created = (row.get("created_utc") or "")[:16].replace("T", " ")
    tail = (row.get("version") or "")[-6:]
    return (f"{row.get('study')} \u00b7 {created} \u00b7 {changed_text(row.get('changed') or {}, 2)} "
            f"\u00b7 \u2026{tail} ({row.get('status')})")


def default_pair(versions: Sequence[dict]) -> list[int] | None:
    """Indices ``[A, B]`` into ``versions`` (newest first) to compare by default: B the newest
    version and A the next newest of the same study; when the newest study has only one
    version, the newest two of the study that has two; ``[1, 0]`` when none has; None with
    fewer than two versions."""
    if len(versions) < 2:
        return None
    same = [i for i, v in enumerate(versions) if i and v.get("study") == versions[0].get("study")]
    if same:
        return [same[0], 0]
    seen: dict[str, int] = {}
    for i, v in enumerate(versions):
        study = v.get("study")
        if study in seen:
            return [i, seen[study]]
        seen[study] = i
    return [1, 0]
