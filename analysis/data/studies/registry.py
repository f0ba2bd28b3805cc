"""Studies: which data a run uses.  ``demo`` (the offline default) is synthetic.

A study turns parameters into a :class:`StudyData`: the validated rank panel, the events, and
the input files to record (name, bytes) with their SHA-256 in the report's manifest.

Real-data studies (:data:`ARCHIVE_STUDIES`, e.g. ``jan2021``) read the app-chart archive
through a lock file under ``data/locks/``: the panel is built only from files that are cached or
mirrored locally and verified against the lock's SHA-256s (:mod:`analysis.data.sources.fetch`); loading
never touches the network.  The report records the lock (which carries every file's SHA-256),
not copies of the third-party files, whose licence is not stated.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from analysis.config import EVENTS_FILE, locks_dir
from analysis.data.demo import world as demo_mod
from analysis.data.events import load_events
from analysis.data.sources import archive as ar
from analysis.data.sources.daily import DEFAULT_RULE, parse_rule
from analysis.data.studies import wikipedia as wiki_studies
from analysis.data.studies.base import StudyData, events_source, rel_path, sha256
from analysis.errors import InputError


@dataclass(frozen=True)
class ArchiveStudy:
    """A study on the hourly app-chart archive, pinned by a lock file."""

    name: str
    title: str
    stores: tuple[str, ...]
    countries: tuple[str, ...]
    charts: tuple[str, ...]
    start: date
    end: date
    rule: str = "nearest:12"  # snapshot selection in the lock (one per UTC day)

    @property
    def lock(self) -> Path:
        """``data/locks/<name>.json`` (``EXODUS_LOCKS_DIR`` relocates the directory)."""
        return locks_dir() / f"{self.name}.json"

    def lock_command(self) -> str:
        rel = rel_path(self.lock)
        return (f"exodus data lock --source app-rankings --stores {','.join(self.stores)} "
                f"--countries {','.join(self.countries)} --charts {','.join(self.charts)} "
                f"--start {self.start} --end {self.end} --rule {self.rule} --out {rel}")

    def fetch_command(self) -> str:
        return f"exodus data fetch --lock {rel_path(self.lock)}"


ARCHIVE_STUDIES = {
    "jan2021": ArchiveStudy(
        "jan2021",
        "App Store and Google Play top free charts, 2020-10-10 .. 2021-03-31 (hourly archive, noon UTC)",
        ("ios", "google_play"), ("us", "gb", "de", "fr", "in", "br"), ("top_free_overall",),
        date(2020, 10, 10), date(2021, 3, 31),
    ),
}

STUDIES = {
    "demo": "Synthetic demo (seeded, with known true effects); runs offline",
    "custom": "Your own rank panel (CSV or parquet) given with -p panel_file=PATH",
    **{k: v.title for k, v in ARCHIVE_STUDIES.items()},
    "wiki-top100": "English Wikipedia daily top-100 articles (real, CC0, shipped): attention, runs offline",
    "wiki-views": "Wikimedia per-article daily pageviews pinned by data/locks/wiki-views.json (real)",
    "wiki-dp": "Wikimedia differentially-private daily pageviews per country, pinned by data/locks/wiki-dp.json (real)",
}


def frame_csv_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_csv(buf, float_precision=10, date_format="%Y-%m-%d")
    return buf.getvalue()


def study_defaults(study: str) -> dict:
    """Parameter values a study's data need, applied before ``-p`` overrides (empty for most)."""
    if study.startswith("wiki-"):
        return wiki_studies.study_defaults(study)
    return {}


def load_study(
    study: str = "demo",
    seed: int = demo_mod.DEFAULT_SEED,
    daily_rule: str = DEFAULT_RULE,
    panel_file: str = "",
    events_file: str = "",
    default_depth: int = 200,
    event_shift: tuple[str, ...] | list[str] = (),
    add_event: tuple[str, ...] | list[str] = (),
) -> StudyData:
    """Load the data of ``study``; raises :class:`InputError` for an unknown study.

    ``daily_rule`` (``nearest:H``, ``best``, ``median``; see :mod:`analysis.data.sources.daily`) applies
    to archive studies; the demo is daily already and ignores it.  ``panel_file`` is the data of
    the ``custom`` study (and only of it); ``events_file`` replaces the curated events table in
    any study.  Both are validated, and their exact bytes are recorded as inputs.
    ``default_depth`` is the chart depth of a custom panel without a ``chart_depth`` column.
    ``event_shift`` / ``add_event`` edit the analysis's events after loading
    (:mod:`analysis.data.event_overrides`; a demo's world is generated from the unedited registry).
    """
    if study not in STUDIES:
        raise InputError(f"unknown study {study!r}; available: {sorted(STUDIES)}")
    parse_rule(daily_rule)
    if panel_file and study != "custom":
        raise InputError(f"panel_file is the data of the 'custom' study; run 'exodus run --study custom -p panel_file={panel_file}' (study {study!r} has its own data)")
    if study == "custom":
        data = load_custom_study(panel_file, default_depth)
    elif study.startswith("wiki-"):
        data = wiki_studies.load(study)
    elif study in ARCHIVE_STUDIES:
        data = load_archive_study(ARCHIVE_STUDIES[study], daily_rule)
    else:
        data = _load_demo(seed)
    if events_file:
        path = Path(events_file)
        data.events = load_events(path)
        data.inputs.pop("events_jan2021.csv", None)
        data.inputs[f"events-{path.name}"] = path.read_bytes()
        data.sources = [s for s in data.sources if s["name"] != events_source()["name"]] + [{
            "name": "Events table given with events_file", "licence": "as stated by its author",
            "url": str(path), "detail": "replaces the curated events table", "sha256": sha256(path.read_bytes()),
        }]
    if event_shift or add_event:
        from analysis.data.event_overrides import apply_overrides

        data.events = apply_overrides(data.events, event_shift, add_event)
    return data


def load_custom_study(panel_file: str, default_depth: int = 200) -> StudyData:
    """A user-supplied rank panel (see :func:`analysis.data.panel.read_panel` for the schema).

    ``chart_depth`` is optional: without it every chart-day gets ``default_depth``, which must be
    at least the panel's largest rank (otherwise a :class:`DataError` names the row).
    """
    from analysis.data.panel import read_panel

    if not panel_file:
        raise InputError("study 'custom' needs its data: exodus run --study custom -p panel_file=PATH (.csv or .parquet)")
    path = Path(panel_file)
    panel = read_panel(path, default_depth=default_depth)
    blob = path.read_bytes()
    depth = int(panel["chart_depth"].max())
    return StudyData(
        name="custom",
        title=f"Custom rank panel {path.name}",
        synthetic=False,
        panel=panel,
        events=load_events(EVENTS_FILE),
        chart_depth=depth,
        inputs={f"panel-{path.name}": blob, "events_jan2021.csv": EVENTS_FILE.read_bytes()},
        sources=[
            {"name": "Rank panel given with panel_file", "licence": "as stated by its provider", "url": str(path),
             "detail": f"{panel.height} rows, {panel['date'].min()} .. {panel['date'].max()}", "sha256": sha256(blob)},
            events_source(),
        ],
    )


def _load_demo(seed: int) -> StudyData:
    events = load_events(EVENTS_FILE)
    d = demo_mod.generate_demo(seed=seed, events=events)
    return StudyData(
        name="demo",
        title=f"{demo_mod.SYNTHETIC_LABEL} (seed {seed})",
        synthetic=True,
        panel=d.panel,
        events=events,
        chart_depth=demo_mod.CHART_DEPTH,
        truth=d,
        inputs={
            "demo_panel.csv": frame_csv_bytes(d.panel),
            "demo_true_effects.csv": frame_csv_bytes(d.effects),
            "demo_event_truth.csv": frame_csv_bytes(d.event_truth),
            "demo_truth_daily.csv": frame_csv_bytes(d.truth),
            "demo_series.csv": frame_csv_bytes(d.series),
            "events_jan2021.csv": EVENTS_FILE.read_bytes(),
        },
        sources=[
            {
                "name": "Synthetic demo panel",
                "licence": "generated by this package (MIT)",
                "url": "analysis/data/demo/world.py",
                "detail": f"generate_demo(seed={seed}); full charts of {demo_mod.N_BACKGROUND} background apps per store "
                          "and country; calibrated to reported ranks cited in analysis/data/demo/effects.py",
            },
            events_source(),
        ],
    )


def load_archive_study(spec: ArchiveStudy, daily_rule: str = DEFAULT_RULE) -> StudyData:
    """A real-data study from its lock and locally available, verified files (never the network).

    Stops at once with an :class:`InputError` naming ``exodus data fetch`` and
    ``EXODUS_DATA_MIRROR`` when the lock or its files are not available offline.
    """
    from analysis.data.sources import fetch

    lock_path = spec.lock
    if not lock_path.exists():
        raise InputError(
            f"study {spec.name!r} uses real app-chart snapshots pinned by {rel_path(lock_path)}, "
            "which does not exist yet, so there is nothing to load offline. With network access (GITHUB_TOKEN "
            f"recommended): '{spec.lock_command()}', then '{spec.fetch_command()}'. Offline: set "
            "EXODUS_DATA_MIRROR=<dir> to a local copy of the archive (a git clone, or files as "
            "<dir>/<commit>/<path>); 'exodus data lock' then lists commits from the clone without the API. "
            "The synthetic demo runs offline: exodus run --study demo"
        )
    panel = fetch.load_locked_panel(lock_path, daily_rule, fetch_hint=spec.fetch_command())
    panel = panel.filter(pl.col("date").is_between(spec.start, spec.end))
    lock_bytes = lock_path.read_bytes()
    lock = fetch.read_lock(lock_path)
    rel = rel_path(lock_path)
    return StudyData(
        name=spec.name,
        title=spec.title,
        synthetic=False,
        panel=panel,
        events=load_events(EVENTS_FILE),
        chart_depth=int(panel["chart_depth"].max()),
        inputs={lock_path.name: lock_bytes, "events_jan2021.csv": EVENTS_FILE.read_bytes()},
        sources=[
            {
                "name": "App-store top charts, hourly git-scraping archive",
                "licence": ar.LICENCE,
                "url": ar.REPO_URL,
                "detail": (f"{len(lock.entries)} snapshot files pinned by commit and SHA-256 in the lock "
                           f"{rel} (rule {lock.request.rule}, daily rule {daily_rule}); ranks = positions "
                           "in each file, chart depth = entries; files are not copied into reports"),
                "lock": rel,
                "sha256": sha256(lock_bytes),
            },
            events_source(),
        ],
    )
