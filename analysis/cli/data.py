"""``exodus data ...``: convert, lock and fetch real app-chart data.

    exodus data convert app-rankings FILE... --out panel.parquet [--snapshot-time ISO] [--daily RULE]
    exodus data lock --source app-rankings --countries us,gb --charts top_free_overall
                     [--stores ios,google_play] --start 2020-10-10 --end 2021-03-31
                     [--rule nearest:12] [--out data/locks/NAME.json] [--max-wait SECONDS] [--force]
    exodus data lock --study jan2021            (the study's own request and lock path)
    exodus data fetch [--lock data/locks/jan2021.json] [--daily RULE] [--out panel.parquet]
    exodus data fetch --source wikipedia --projects en.wikipedia[,de.wikipedia] --articles "Signal,en:Parler,..."
                      --start YYYY-MM-DD --end YYYY-MM-DD [--lock data/locks/wiki-views.json]
    exodus data fetch --source wikimedia-dp --apps Signal,Telegram,WhatsApp,... --start YYYY-MM-DD
                      --end YYYY-MM-DD [--lock data/locks/wiki-dp.json]

Bad input (files, arguments, a hash mismatch) exits with code 2; a network failure or a rate
limit that would take too long to wait out exits with code 1 after saving progress.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import polars as pl

from analysis.config import DATA
from analysis.errors import InputError


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _cmd_convert(args: argparse.Namespace) -> int:
    from analysis.data.apps import APPS, SYNTHETIC_ONLY
    from analysis.data.sources import archive as ar
    from analysis.data.sources.daily import snapshots_per_day, to_daily

    out = file_arg(args.out, "--out")  # before any work
    snaps = ar.read_files(args.files, args.snapshot_time)
    panel = to_daily(snaps, args.daily, source=", ".join(map(str, args.files)))
    out.parent.mkdir(parents=True, exist_ok=True)
    panel.write_parquet(out)
    per = snaps.group_by("store", "country", "chart", "snapshot_utc").agg(
        pl.len().alias("rows"), pl.col("chart_depth").first()).sort("store", "country", "chart", "snapshot_utc")
    print(f"{len(args.files)} file(s), {snaps.select('snapshot_utc', 'store', 'country', 'chart').n_unique()} "
          f"snapshot(s), {snaps.height} snapshot rows -> {panel.height} daily rows (rule {args.daily}) in {out}")
    with pl.Config(tbl_rows=60, tbl_cols=-1, tbl_hide_dataframe_shape=True, tbl_width_chars=160,
                   tbl_hide_column_data_types=True, fmt_str_lengths=40):
        print(per)
        days = snapshots_per_day(snaps)
        if days["snapshots"].max() > 1:
            print(f"several snapshots on one day: aggregated by rule {args.daily}")
        print(f"top {args.show} of each chart:")
        print(panel.filter(pl.col("rank") <= args.show).sort("date", "store", "country", "chart", "rank")
              .select("date", "store", "country", "chart", "rank", "app_id", "app_name", "chart_depth"))
        real = sorted(set(APPS) - SYNTHETIC_ONLY)
        found = ar.apps_found(snaps, real)
        print(f"apps of interest found ({found['app_name'].n_unique()} of {len(real)}):")
        print(found)
    return 0


def file_arg(text: str | Path, option: str) -> Path:
    """A file path given on the command line: refused (exit 2, before any work) when it names a
    directory, or a file inside something that is not a directory."""
    path = Path(text)
    if path.is_dir():
        raise InputError(f"{option} {path} is a directory; give a file path (e.g. {path / 'name.json'})")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise InputError(f"{option} {path}: {parent} is a file, not a directory")
    return path


def _cmd_lock(args: argparse.Namespace) -> int:
    from analysis.data.sources import fetch
    from analysis.data.sources.lock import Request, build_lock, read_lock
    from analysis.data.sources.remote import Http
    from analysis.data.studies.registry import ARCHIVE_STUDIES

    if args.study:
        if args.study not in ARCHIVE_STUDIES:
            raise InputError(f"study {args.study!r} has no archive data; archive studies: {sorted(ARCHIVE_STUDIES)}")
        spec = ARCHIVE_STUDIES[args.study]
        req = Request(list(spec.stores), list(spec.countries), list(spec.charts), spec.start, spec.end,
                      args.rule or spec.rule)
        out = file_arg(args.out, "--out") if args.out else spec.lock
    else:
        missing = [n for n in ("countries", "charts", "start", "end") if getattr(args, n) is None]
        if missing:
            raise InputError(f"exodus data lock needs --{' --'.join(missing)} (or --study NAME)")
        req = Request(_csv(args.stores), _csv(args.countries), _csv(args.charts), args.start, args.end,
                      args.rule or "nearest:12")
        out = file_arg(args.out, "--out") if args.out else DATA / "locks" / f"app-rankings-{args.start}-{args.end}.json"
    if out.exists() and not args.force:
        old = read_lock(out)
        raise InputError(f"{out} already exists ({len(old.entries)} entries, "
                         f"{sum(e.sha256 is not None for e in old.entries)} with SHA-256): a lock is never "
                         "overwritten by accident; give another --out, or --force to replace it")
    mirror = fetch.mirror_dir()
    if fetch.is_git_clone(mirror):
        print(f"listing commits with git log in the mirror {mirror} (no API calls)", file=sys.stderr)
        lister = fetch.git_lister(mirror)
    else:
        http = Http(max_wait=args.max_wait)
        print(f"listing commits through {http.api} ({'with' if http.token else 'without'} GITHUB_TOKEN)",
              file=sys.stderr)
        lister = fetch.github_lister(http, req.repo)
    lock = build_lock(req, out, lister)
    print(f"{len(lock.entries)} snapshots locked in {out} (rule {req.rule}); "
          f"{len(lock.gaps)} chart-days without a snapshot. Next: exodus data fetch --lock {out}")
    return 0


def _cmd_fetch_wikipedia(args: argparse.Namespace) -> int:
    from analysis.data.sources import pageviews as wikimedia
    from analysis.data.studies.wikipedia import views_lock

    missing = [n for n in ("projects", "articles", "start", "end") if getattr(args, n) is None]
    if missing:
        raise InputError(f"exodus data fetch --source wikipedia needs --{' --'.join(missing)}")
    lock = file_arg(args.lock or views_lock(), "--lock")
    views = wikimedia.fetch_views(_csv(args.projects), _csv(args.articles), args.start, args.end, lock,
                                  http=wikimedia.wikimedia_http(args.max_wait),
                                  log=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"{views.height} article-days ({views['app_name'].n_unique()} apps, editions "
          f"{','.join(sorted(views['country'].unique()))}), {args.start} .. {args.end}, pinned in {lock}. "
          "Next: exodus run --study wiki-views" + ("" if lock == views_lock() else f" (with the lock at {views_lock()})"))
    return 0


def _cmd_fetch_wikimedia_dp(args: argparse.Namespace) -> int:
    from analysis.config import wikimedia_user_agent
    from analysis.data.sources import wikimedia_dp
    from analysis.data.sources.remote import Http
    from analysis.data.studies.wiki_dp import dp_lock

    missing = [n for n in ("apps", "start", "end") if getattr(args, n) is None]
    if missing:
        raise InputError(f"exodus data fetch --source wikimedia-dp needs --{' --'.join(missing)}")
    lock = Path(args.lock) if args.lock else dp_lock()
    res = wikimedia_dp.fetch_dp(_csv(args.apps), args.start, args.end, lock,
                                http=Http(max_wait=args.max_wait, user_agent=wikimedia_user_agent()),
                                log=lambda m: print(m, file=sys.stderr, flush=True))
    days = len(res.lock.days)
    print(f"{days - len(res.missing)} of {days} days pinned in {lock} ({res.downloaded} downloaded, "
          f"{res.from_cache} from the cache); {res.rows.height} rows of {res.rows['app_name'].n_unique()} apps in "
          f"{res.rows['country_code'].n_unique()} countries")
    if res.missing:
        print(f"{len(res.missing)} day(s) missing upstream (HTTP 404), treated as unknown (no data), not censored: "
              + ", ".join(e.date for e in res.missing))
    print("Next: exodus run --study wiki-dp" + ("" if lock == dp_lock() else f" (with the lock at {dp_lock()})"))
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    if args.source == "wikipedia":
        return _cmd_fetch_wikipedia(args)
    if args.source == "wikimedia-dp":
        return _cmd_fetch_wikimedia_dp(args)
    from analysis.data.sources import fetch
    from analysis.data.sources.remote import Http
    from analysis.data.studies.registry import ARCHIVE_STUDIES

    lock = file_arg(args.lock or ARCHIVE_STUDIES["jan2021"].lock, "--lock")
    fetch.require_lock(lock)
    res = fetch.fetch(lock, http=Http(max_wait=args.max_wait), rule=args.daily,
                      out=file_arg(args.out, "--out") if args.out else None)
    print(f"{len(res.lock.entries)} locked files verified: {res.downloaded} downloaded, {res.from_cache} from "
          f"the cache, {res.from_mirror} from the mirror; {res.hashes_recorded} SHA-256 recorded in {lock}")
    print(f"panel: {res.panel.height} rows, {res.panel['date'].min()} .. {res.panel['date'].max()} "
          f"(daily rule {args.daily}) -> {res.panel_path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``exodus data`` and its subcommands to the main parser."""
    d = sub.add_parser("data", help="convert, lock and fetch real app-chart data",
                       description=__doc__.split("\n")[0])
    dsub = d.add_subparsers(dest="data_command", required=True)

    c = dsub.add_parser("convert", help="convert native snapshot files to a rank panel (parquet)")
    c.add_argument("source", choices=["app-rankings"], help="file format")
    c.add_argument("files", nargs="+", metavar="FILE", help="archive JSON files (app_store/rankings/us_TOP_FREE_IOS.json, ...)")
    c.add_argument("--out", required=True, help="output parquet file")
    c.add_argument("--snapshot-time", metavar="ISO",
                   help="UTC time of the snapshot(s), e.g. 2021-01-08T12:00:31Z (the files carry none)")
    c.add_argument("--daily", default="nearest:12", metavar="RULE",
                   help="hourly -> daily rule: nearest:H, best or median (default nearest:12)")
    c.add_argument("--show", type=int, default=5, help="rows to print")
    c.set_defaults(func=_cmd_convert)

    lk = dsub.add_parser("lock", help="pin the archive snapshots of a window in a lock file (network or clone)")
    lk.add_argument("--source", default="app-rankings", choices=["app-rankings"])
    lk.add_argument("--study", help="use an archive study's request and lock path (e.g. jan2021)")
    lk.add_argument("--stores", default="ios,google_play", help="comma-separated: ios,google_play")
    lk.add_argument("--countries", help="comma-separated ISO codes: br,cn,de,fr,gb,in,it,jp,us")
    lk.add_argument("--charts", help="comma-separated: top_free_overall,top_paid_overall,top_grossing_overall")
    lk.add_argument("--start", type=_date, help="first UTC day, YYYY-MM-DD")
    lk.add_argument("--end", type=_date, help="last UTC day, YYYY-MM-DD")
    lk.add_argument("--rule", help="snapshot selection: nearest:H (default nearest:12), nearest:H1,H2,... or all")
    lk.add_argument("--out", help="lock file (default data/locks/app-rankings-START-END.json)")
    lk.add_argument("--max-wait", type=float, default=3600, help="longest rate-limit wait in seconds before stopping")
    lk.add_argument("--force", action="store_true", help="replace an existing lock file")
    lk.set_defaults(func=_cmd_lock)

    f = dsub.add_parser("fetch", help="download and verify exactly the locked files, then build the panel")
    f.add_argument("--source", default="app-rankings", choices=["app-rankings", "wikipedia", "wikimedia-dp"],
                   help="app-rankings (archive snapshots of a lock), wikipedia (Wikimedia per-article pageviews) or "
                        "wikimedia-dp (Wikimedia's differentially-private pageviews per country)")
    f.add_argument("--apps", help="wikimedia-dp: comma-separated app names (those with a Wikidata QID are fetched)")
    f.add_argument("--projects", help="wikipedia: comma-separated editions, e.g. en.wikipedia,de.wikipedia")
    f.add_argument("--articles", help="wikipedia: comma-separated app names (resolved per edition through Wikidata sitelinks), "
                        "raw titles (every edition) or edition:Title (one edition), e.g. Signal,de:Signal_(Messenger)")
    f.add_argument("--start", type=_date, help="wikipedia, wikimedia-dp: first UTC day, YYYY-MM-DD")
    f.add_argument("--end", type=_date, help="wikipedia, wikimedia-dp: last UTC day, YYYY-MM-DD")
    f.add_argument("--lock", help="lock file (default: data/locks/jan2021.json; wikipedia: data/locks/wiki-views.json; "
                                  "wikimedia-dp: data/locks/wiki-dp.json)")
    f.add_argument("--daily", default="nearest:12", metavar="RULE", help="hourly -> daily rule (nearest:H, best, median)")
    f.add_argument("--out", help="panel parquet (default: in the cache, keyed by the lock's hash)")
    f.add_argument("--max-wait", type=float, default=3600, help="longest rate-limit wait in seconds")
    f.set_defaults(func=_cmd_fetch)
