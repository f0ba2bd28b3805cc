"""The long rank panel: schema, reading and validation.

One row per (date, store, country, chart, app_id) observed in a chart. An app absent from a
chart on a day has no row: it ranked below the chart depth (right-censored), it is never
imputed (:mod:`analysis.data.censoring` makes the censoring explicit on a daily grid).

Two optional columns travel with the panel when known and are validated when present:

- ``chart_depth``: the number of entries in that chart on that day (constant within a chart-day,
  at least the largest rank).  Absent from a chart means rank > ``chart_depth``.
- ``snapshot_utc``: the UTC time of the snapshot the day's ranks come from; null for a daily
  aggregate of several snapshots (best or median rank), whose ranks need not be distinct.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from analysis.data.csvcheck import fail_first, read_frame
from analysis.errors import DataError

STORES = ("ios", "google_play")
CHARTS = ("top_free_overall", "top_paid_overall", "top_grossing_overall")
KEY = ("date", "store", "country", "chart", "app_id")
SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "store": pl.String(),
    "country": pl.String(),
    "chart": pl.String(),
    "app_id": pl.String(),
    "app_name": pl.String(),
    "rank": pl.Int64(),
}
OPTIONAL: dict[str, pl.DataType] = {
    "chart_depth": pl.Int64(),
    "snapshot_utc": pl.Datetime("us", "UTC"),
}
CHART_DAY = ("date", "store", "country", "chart")
MAX_DEPTH = 1_000_000  # no app chart lists more entries; larger ranks or depths are data errors (and overflow Int64 at 1e19)


def _check_unique(df: pl.DataFrame, key: list[str], column: str, source: str, what: str) -> None:
    """Raise on the first row that repeats ``key``, naming it and the row it repeats."""
    repeat = df.filter(~pl.struct(key).is_first_distinct()).head(1)
    if repeat.is_empty():
        return
    row = repeat.row(0, named=True)
    first = df.join(repeat.select(key), on=key).sort("_row")["_row"][0]
    raise DataError(
        f"{what}: " + ", ".join(f"{k}={row[k]}" for k in key) + f" also appears in row {first}",
        file=source,
        column=column,
        row=int(row["_row"]),
    )


def read_panel(path: str | Path, default_depth: int | None = None) -> pl.DataFrame:
    """Read a rank panel from CSV or parquet and validate it (see :func:`validate_panel`)."""
    return validate_panel(read_frame(path), source=str(path), default_depth=default_depth)


def validate_panel(raw: pl.DataFrame, source: str = "<panel>", default_depth: int | None = None) -> pl.DataFrame:
    """Check a raw panel against :data:`SCHEMA` and return it typed and sorted.

    Raises :class:`DataError` naming file, column and row for: missing columns, an empty
    table, unparseable dates, ranks that are not positive integers, unknown stores or charts,
    malformed country codes, missing ids, and duplicate keys.  Nothing is fixed silently.
    ``chart_depth`` is optional; without it, ``default_depth`` (when given) becomes every
    chart-day's depth and must be at least every rank.
    """
    missing = [c for c in SCHEMA if c not in raw.columns]
    if missing:
        raise DataError(
            f"missing column(s) {missing}; a rank panel needs {list(SCHEMA)} "
            f"(found {raw.columns})",
            file=source,
        )
    if raw.height == 0:
        raise DataError("the panel has no rows", file=source)
    optional = [c for c in OPTIONAL if c in raw.columns]
    df = _check_fields(raw.select(list(SCHEMA) + optional).with_row_index("_row", offset=1), source)
    df, optional = _check_depth(df, source, optional, default_depth)
    if "snapshot_utc" in optional:
        df = df.with_columns(_as_utc(df["snapshot_utc"], source))
        _fail(df, source, "snapshot_utc", pl.col("snapshot_utc").is_not_null()
              & (pl.col("snapshot_utc").dt.date() != pl.col("date")),
              "snapshot_utc is not on the row's (UTC) date")
    _check_unique(df, list(KEY), "app_id", source, "duplicate key (date, store, country, chart, app_id)")
    # Ranks are distinct within one snapshot; daily aggregates (snapshot_utc null) may tie.
    single = df.filter(pl.col("snapshot_utc").is_not_null()) if "snapshot_utc" in optional else df
    _check_unique(single, ["date", "store", "country", "chart", "rank"], "rank", source,
                  "two apps hold the same rank in one chart on one day")
    schema = {**SCHEMA, **{c: OPTIONAL[c] for c in optional}}
    return df.select(list(schema)).cast(schema).sort(list(KEY))


def _fail(df: pl.DataFrame, source: str, column: str, mask: pl.Expr, message: str) -> None:
    fail_first(df, mask, message, source, column)


def _check_fields(df: pl.DataFrame, source: str) -> pl.DataFrame:
    """Required fields: non-empty ids, ISO dates (``_date``), positive integer ranks (``_rankf``),
    known stores and charts, lower-case ISO 3166-1 alpha-2 countries."""
    for col in ("store", "country", "chart", "app_id", "app_name"):
        df = df.with_columns(pl.col(col).cast(pl.String))
        _fail(df, source, col, pl.col(col).is_null() | (pl.col(col).str.strip_chars() == ""), "empty value")

    # Dates: ISO YYYY-MM-DD strings or already dates.
    if df.schema["date"] in (pl.Date(), pl.Datetime()):
        df = df.with_columns(pl.col("date").cast(pl.Date).alias("_date"))
    else:
        df = df.with_columns(
            pl.col("date").cast(pl.String).str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("_date")
        )
    _fail(df, source, "date", pl.col("_date").is_null(), "unparseable date (expected YYYY-MM-DD)")

    # Ranks: positive integers; a float like 3.0 is accepted, 3.5 is not.
    r = pl.col("rank").cast(pl.String).str.strip_chars()
    df = df.with_columns(r.cast(pl.Float64, strict=False).alias("_rankf"))
    _fail(df, source, "rank", pl.col("_rankf").is_null(), "rank is not a number")
    _fail(df, source, "rank", ~pl.col("_rankf").is_finite(), "rank is not a finite number (NaN or infinite)")
    _fail(df, source, "rank", pl.col("_rankf") > MAX_DEPTH, f"rank is larger than any chart (at most {MAX_DEPTH:,})")
    _fail(df, source, "rank", pl.col("_rankf") != pl.col("_rankf").round(0), "rank is not an integer")
    _fail(df, source, "rank", pl.col("_rankf") < 1, "rank must be >= 1 (ranks are 1-based chart positions)")

    _fail(df, source, "store", ~pl.col("store").is_in(STORES), f"unknown store; expected one of {STORES}")
    _fail(df, source, "chart", ~pl.col("chart").is_in(CHARTS), f"unknown chart; expected one of {CHARTS}")
    _fail(df, source, "country", ~pl.col("country").str.contains(r"^[a-z]{2}$"),
          "country must be an ISO 3166-1 alpha-2 code in lower case")
    return df.with_columns(pl.col("_date").alias("date"), pl.col("_rankf").cast(pl.Int64).alias("rank"))


def _check_depth(df: pl.DataFrame, source: str, optional: list[str],
                 default_depth: int | None) -> tuple[pl.DataFrame, list[str]]:
    """``chart_depth``: integer, at least every rank, one value per chart-day; without the column,
    ``default_depth`` (when given) becomes it.  Returns the frame and the optional columns present."""
    if "chart_depth" in optional:
        d = pl.col("chart_depth").cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
        df = df.with_columns(d.alias("_depthf"))
        _fail(df, source, "chart_depth", pl.col("_depthf").is_null(), "chart_depth is not a number")
        _fail(df, source, "chart_depth", ~pl.col("_depthf").is_finite(), "chart_depth is not a finite number")
        _fail(df, source, "chart_depth", pl.col("_depthf") > MAX_DEPTH,
              f"chart_depth is larger than any chart (at most {MAX_DEPTH:,})")
        _fail(df, source, "chart_depth", pl.col("_depthf") != pl.col("_depthf").round(0),
              "chart_depth is not an integer")
        _fail(df, source, "chart_depth", pl.col("_depthf") < pl.col("_rankf"),
              "rank is larger than the chart depth (the chart cannot list it)")
        _fail(df, source, "chart_depth", pl.col("_depthf").n_unique().over(list(CHART_DAY)) > 1,
              "chart_depth differs within one chart on one day")
        return df.with_columns(pl.col("_depthf").cast(pl.Int64).alias("chart_depth")), optional
    if default_depth is not None:
        _fail(df, source, "rank", pl.col("_rankf") > default_depth,
              f"rank is deeper than default_depth={default_depth} and the panel has no chart_depth column: "
              "add one, or give -p default_depth=N (the chart's depth)")
        return (df.with_columns(pl.lit(default_depth, dtype=pl.Int64).alias("chart_depth")),
                [*optional, "chart_depth"])
    return df, optional


def _as_utc(col: pl.Series, source: str) -> pl.Series:
    """``snapshot_utc`` as a UTC datetime: ISO strings (``Z`` or an offset) or datetimes."""
    dtype = col.dtype
    if isinstance(dtype, pl.Datetime):
        out = col.dt.replace_time_zone("UTC") if dtype.time_zone is None else col.dt.convert_time_zone("UTC")
        return out.dt.cast_time_unit("us")
    if col.null_count() == col.len():
        return col.cast(pl.Datetime("us", "UTC"))
    text = col.cast(pl.String)
    parsed = text.str.to_datetime(time_zone="UTC", strict=False, time_unit="us")
    bad = parsed.is_null() & text.is_not_null()
    if bad.any():
        i = int(bad.arg_true()[0])
        raise DataError("unparseable snapshot_utc (expected ISO 8601 with Z or an offset)",
                        file=source, column="snapshot_utc", row=i + 1, value=text[i])
    return parsed.alias("snapshot_utc")
