"""SYNTHETIC day files in the wiki-dp contract's layout with KNOWN effects (tests only).

Daily views of each (app, country) follow log V_t = log base + AR(1) noise (rho 0.5, sd 0.08),
plus a privacy-shock step of ``PRIVACY`` in every country from the first affected day of X01 and,
for Signal in the US only, a deplatforming step of ``DEPLATFORMING`` from the first affected day
of X04.  Each edition's share of V then gets Laplace(30) noise, rounded, and is released only
above 450 - the release's own mechanism (its README).  Nothing here is real data.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np

PRIVACY, DEPLATFORMING = math.log(4.0), math.log(3.0)
START, END = date(2020, 12, 1), date(2021, 2, 2)
QID = {"Signal": "Q19718090", "WhatsApp": "Q1049511", "Twitter": "Q918"}
COUNTRIES = {"us": "United States", "in": "India", "br": "Brazil", "de": "Germany"}
# (app, country) -> (base daily views, {project: share})
SERIES = {
    ("Signal", "us"): (3000, {"en.wikipedia": 1.0}),
    ("Signal", "in"): (2500, {"en.wikipedia": 0.7, "hi.wikipedia": 0.3}),
    ("Signal", "br"): (1800, {"pt.wikipedia": 0.8, "en.wikipedia": 0.2}),
    ("Signal", "de"): (2600, {"de.wikipedia": 0.8, "en.wikipedia": 0.2}),
    ("Twitter", "us"): (40000, {"en.wikipedia": 1.0}),
    ("Twitter", "de"): (300, {"de.wikipedia": 1.0}),  # below the threshold until the privacy shock
}
SHOCKED = {"Signal", "Twitter"}  # apps with the privacy step (Twitter: to exercise censoring)


def first_days() -> tuple[date, date]:
    """First affected day of the privacy shock (X01) and of the deplatforming (X04)."""
    from analysis.data.events import load_events
    from analysis.data.timing import affected_snapshot_dates

    t = dict(affected_snapshot_dates(load_events()).select("event_id", "first_possible_snapshot").iter_rows())
    return t["X01"], t["X04"]


def true_log_views(seed: int = 7) -> dict[tuple[str, str], np.ndarray]:
    """log V_t of every series over START .. END (before the release's noise)."""
    rng = np.random.default_rng(seed)
    n = (END - START).days + 1
    privacy, dep = first_days()
    t = np.arange(n)
    out = {}
    for (app, cc), (base, _) in SERIES.items():
        e = np.zeros(n)
        shocks = rng.normal(0, 0.08 * math.sqrt(1 - 0.25), n)
        e[0] = rng.normal(0, 0.08)
        for i in range(1, n):
            e[i] = 0.5 * e[i - 1] + shocks[i]
        y = math.log(base) + e
        if app in SHOCKED:
            y += PRIVACY * (t >= (privacy - START).days)
        if (app, cc) == ("Signal", "us"):
            y += DEPLATFORMING * (t >= (dep - START).days)
        out[(app, cc)] = y
    return out


def day_files(seed: int = 7) -> dict[date, bytes]:
    """The SYNTHETIC release: one contract-layout file per day (plus rows of another item)."""
    rng = np.random.default_rng(seed + 1)
    logv = true_log_views(seed)
    files = {}
    for i in range((END - START).days + 1):
        day = START + timedelta(days=i)
        lines = [f"United States\tUS\ten.wikipedia\t736\tAlbert_Einstein\tQ937\t{15000 + i}"]
        for (app, cc), (_, shares) in SERIES.items():
            for project, share in shares.items():
                count = int(round(math.exp(logv[(app, cc)][i]) * share + rng.laplace(0, 30)))
                if count > 450:
                    lines.append(f"{COUNTRIES[cc]}\t{cc.upper()}\t{project}\t{sum(map(ord, project + app))}\t"
                                 f"{app}\t{QID[app]}\t{count}")
        files[day] = ("\n".join(lines) + "\n").encode()
    return files
