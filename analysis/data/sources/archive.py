"""Native snapshot files of the hourly app-chart archive -> long rank rows.

Source: https://github.com/Price-of-Privacy-in-Digital-Markets/app-rankings (no licence stated;
see ``../shared/data/app_rankings_sample/PROVENANCE.md``).  Each file is a JSON array of app
objects in chart order, overwritten every hour; the file's git history is the time series.

- Rank is the 1-based position in the array; the chart depth is the number of entries (100 for
  the App Store, about 200 for Google Play).  Nothing else in the file is a rank.
- The app id is ``appId`` (iOS bundle id or Play package); the title is ``title``.
- Store, country and chart come from the path: ``app_store/rankings/{cc}_TOP_FREE_IOS.json``,
  ``play_store/rankings/{cc}_TOP_FREE.json`` (from 2020-10-10), the first day's layout
  ``app_store/{cc}/TOP_FREE_IOS_20201010_134503.json`` (time in the name), or a bare
  ``{cc}_TOP_FREE_IOS.json``.
- The files carry no time: it is the commit time, taken from the lock (or given explicitly).
  A snapshot whose time is unknown is an error, never a guess.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from analysis.data import panel as panel_mod
from analysis.data.apps import canonical_names
from analysis.errors import DataError

REPO = "Price-of-Privacy-in-Digital-Markets/app-rankings"
REPO_URL = f"https://github.com/{REPO}"
LICENCE = "none stated"
COUNTRIES = ("br", "cn", "de", "fr", "gb", "in", "it", "jp", "us")
STORE_DIRS = {"app_store": "ios", "play_store": "google_play"}
# (store, native chart name) -> panel chart name
NATIVE_CHARTS: dict[tuple[str, str], str] = {
    ("ios", "TOP_FREE_IOS"): "top_free_overall",
    ("ios", "TOP_PAID_IOS"): "top_paid_overall",
    ("ios", "TOP_GROSSING_IOS"): "top_grossing_overall",
    ("google_play", "TOP_FREE"): "top_free_overall",
    ("google_play", "TOP_PAID"): "top_paid_overall",
    ("google_play", "GROSSING"): "top_grossing_overall",
}
# One row per app per snapshot: the panel's columns, led by the snapshot time.
SNAPSHOT_SCHEMA: dict[str, pl.DataType] = {
    "snapshot_utc": panel_mod.OPTIONAL["snapshot_utc"], **panel_mod.SCHEMA, "chart_depth": panel_mod.OPTIONAL["chart_depth"],
}
SNAPSHOT_KEY = ("snapshot_utc", "store", "country", "chart")

_RANKINGS = re.compile(r"(?:^|/)(app_store|play_store)/rankings/([A-Za-z]{2})_([A-Z_]+)\.json$")
_FIRST_DAY = re.compile(r"(?:^|/)(app_store|play_store)/([A-Za-z]{2})/([A-Z_]+?)_(\d{8})_(\d{6})\.json$")
_BARE = re.compile(r"(?:^|/)([A-Za-z]{2})_([A-Z_]+)\.json$")


@dataclass(frozen=True)
class ChartFile:
    """What a file's path says: store, country, chart (panel name and native name), and the
    snapshot time when the name carries one (first-day layout)."""

    store: str
    country: str
    chart: str
    native: str
    snapshot_utc: datetime | None = None


def archive_path(store: str, country: str, chart: str) -> str:
    """Path of a chart's hourly file in the archive (the layout used from 2020-10-10 on)."""
    natives = [n for (s, n), c in NATIVE_CHARTS.items() if s == store and c == chart]
    if not natives:
        raise DataError(f"unknown chart {chart!r} for store {store!r}; known: "
                        f"{sorted({c for (s, _), c in NATIVE_CHARTS.items() if s == store})}")
    folder = {v: k for k, v in STORE_DIRS.items()}[store]
    return f"{folder}/rankings/{country}_{natives[0]}.json"


def parse_path(path: str | Path) -> ChartFile:
    """Store, country, chart and (if named) time of an archive file; DataError if unknown."""
    text = Path(path).as_posix()
    when = None
    if m := _RANKINGS.search(text):
        folder, cc, native = m.groups()
        store = STORE_DIRS[folder]
    elif m := _FIRST_DAY.search(text):
        folder, cc, native, day, hms = m.groups()
        store = STORE_DIRS[folder]
        when = datetime.strptime(day + hms, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    elif m := _BARE.search(text):
        cc, native = m.groups()
        store = "ios" if native.endswith("_IOS") else "google_play"
    else:
        raise DataError(
            "file name is not an archive chart file; expected app_store/rankings/{cc}_TOP_FREE_IOS.json, "
            "play_store/rankings/{cc}_TOP_FREE.json, app_store/{cc}/TOP_FREE_IOS_YYYYMMDD_HHMMSS.json "
            "or {cc}_{CHART}.json",
            file=str(path),
        )
    if cc.lower() not in COUNTRIES or cc != cc.lower():
        raise DataError(f"unknown country {cc!r}; the archive covers {list(COUNTRIES)} (lower case)",
                        file=str(path))
    if (store, native) not in NATIVE_CHARTS:
        known = [n for (s, n) in NATIVE_CHARTS if s == store]
        raise DataError(f"unknown chart {native!r} for store {store}; known: {known}", file=str(path))
    return ChartFile(store, cc, NATIVE_CHARTS[(store, native)], native, when)


def parse_time(text: str, what: str = "snapshot time") -> datetime:
    """An ISO-8601 time with ``Z`` or an offset, as UTC; a time without a zone is refused."""
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DataError(f"{what} {text!r} is not ISO 8601 (e.g. 2021-01-08T12:00:31Z)") from None
    if t.tzinfo is None:
        raise DataError(f"{what} {text!r} has no time zone; give UTC explicitly, e.g. {text}Z")
    return t.astimezone(UTC)


def read_snapshot(data: bytes, source: str, chart: ChartFile, snapshot_utc: datetime | None = None) -> pl.DataFrame:
    """One snapshot file's bytes as rank rows (see :data:`SNAPSHOT_SCHEMA`).

    Raises :class:`DataError` naming ``source`` and the entry for malformed JSON, a non-array,
    an empty chart, an entry without ``appId`` or ``title``, or an app listed twice.
    """
    when = snapshot_utc or chart.snapshot_utc
    if when is None:
        raise DataError(
            "snapshot time unknown: the archive's rankings files carry no time (it is the commit "
            "time); give it with --snapshot-time ISO (UTC) or build the panel from a lock "
            "(exodus data lock / exodus data fetch), which records each commit's time",
            file=source,
        )
    try:
        entries = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"is not UTF-8 text: {exc}", file=source) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno} "
                        f"(character {exc.pos} of {len(data)} bytes; a truncated download?)", file=source) from None
    if not isinstance(entries, list):
        raise DataError(f"expected a JSON array of apps in chart order, found a JSON {type(entries).__name__}",
                        file=source)
    if not entries:
        raise DataError("the chart has no entries (an empty array)", file=source)
    for i, e in enumerate(entries, start=1):
        if not isinstance(e, dict):
            raise DataError(f"entry {i} is a JSON {type(e).__name__}, not an app object", file=source)
    columns = {"appId": [e.get("appId") for e in entries], "title": [e.get("title") for e in entries]}
    for key, values in columns.items():
        bad = next((i for i, v in enumerate(values) if not (isinstance(v, str) and v.strip())), None)
        if bad is not None:
            raise DataError(f"entry {bad + 1}: {key!r} is missing or not a non-empty string",
                            file=source, column=key, value=values[bad])
    df = pl.DataFrame({"app_id": columns["appId"], "app_name": columns["title"]},
                      schema={"app_id": pl.String, "app_name": pl.String}).with_row_index("rank", offset=1)
    dup = df.filter(pl.col("app_id").is_duplicated()).head(2)
    if dup.height:
        first, again = dup["rank"].to_list()
        raise DataError(f"entry {again}: app {dup['app_id'][0]!r} is already listed as entry {first}; "
                        "a chart lists each app once", file=source, column="appId")
    out = df.with_columns(
        pl.lit(when).cast(pl.Datetime("us", "UTC")).alias("snapshot_utc"),
        pl.lit(when.date()).alias("date"),
        pl.lit(chart.store).alias("store"),
        pl.lit(chart.country).alias("country"),
        pl.lit(chart.chart).alias("chart"),
        pl.col("rank").cast(pl.Int64),
        pl.lit(len(entries), dtype=pl.Int64).alias("chart_depth"),
    )
    return canonical_names(out).select(list(SNAPSHOT_SCHEMA)).cast(SNAPSHOT_SCHEMA)


def read_files(paths: list[str | Path], snapshot_time: str | None = None) -> pl.DataFrame:
    """Read snapshot files (all at ``snapshot_time`` if given) into one frame of rank rows.

    Two files giving the same chart at the same time are an error (one would silently win).
    """
    when = parse_time(snapshot_time) if snapshot_time else None
    frames = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise DataError("file not found", file=str(p))
        frames.append(read_snapshot(p.read_bytes(), str(p), parse_path(p), when).with_columns(
            pl.lit(str(p)).alias("_file")))
    return combine_snapshots(frames)


def combine_snapshots(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Concatenate per-file frames (with a ``_file`` column), refusing repeated snapshots."""
    if not frames:
        raise DataError("no snapshot files given")
    df = pl.concat(frames)
    firsts = df.unique(subset=["_file"], keep="first", maintain_order=True)
    rep = firsts.filter(pl.struct(SNAPSHOT_KEY).is_duplicated())
    if rep.height:
        a, b = rep["_file"][0], rep["_file"][1]
        raise DataError(f"gives the same chart and time as {a} ({rep['store'][0]} {rep['country'][0]} "
                        f"{rep['chart'][0]} at {rep['snapshot_utc'][0]:%Y-%m-%dT%H:%M:%SZ})", file=b)
    return df.drop("_file").sort(*SNAPSHOT_KEY, "rank")


def apps_found(snapshots: pl.DataFrame, apps: list[str]) -> pl.DataFrame:
    """For each app of interest: in which charts it appears and its best rank (for a report)."""
    return (
        snapshots.filter(pl.col("app_name").is_in(apps))
        .group_by("app_name", "store", "country", "chart")
        .agg(pl.col("rank").min().alias("best_rank"), pl.len().alias("rows"))
        .sort("app_name", "store", "country", "chart")
    )
