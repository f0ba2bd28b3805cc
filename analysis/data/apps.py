"""The apps the study follows: one canonical name per app across stores and sources.

Store titles change ("Signal - Private Messenger", "Telegram Messenger") and differ by store,
so real chart files are matched on the store's app id (iOS bundle id, Google Play package) and
given the canonical name used by the demo, the notebooks and the reported-figures files.  An
app not listed here keeps its store title.  Those of WhatsApp, Telegram, Twitter, Discord and
Messenger in both stores appear in the archive's sample snapshots (late 2021) and are confirmed
there; the others (Signal, Parler, MeWe, Rumble, Element, Threema) are not in those charts and
are unconfirmed until a real panel is built: ``exodus data convert`` lists the apps of interest
it found, so a wrong id shows up as an app missing from every chart.

``Gab`` is a *synthetic-only* entry: the demo simulates a Gab-like alt-tech app in both stores,
but the real Gab had no app in either store in January 2021 (Google removed it in 2017 and
Apple never listed it), so it has placeholder ids that never match a real chart file and it is
left out of :data:`APP_IDS`.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

# app_name -> (ios app id, Google Play package)
APPS: dict[str, tuple[str, str]] = {
    "Signal": ("org.whispersystems.signal", "org.thoughtcrime.securesms"),
    "Telegram": ("ph.telegra.Telegraph", "org.telegram.messenger"),
    "WhatsApp": ("net.whatsapp.WhatsApp", "com.whatsapp"),
    "Parler": ("com.parler.parler", "com.parler.parler"),
    "MeWe": ("com.mewe.mewe", "com.mewe"),
    "Rumble": ("com.rumble.battles", "com.rumble.battles"),
    "Gab": ("synthetic.gab", "synthetic.gab"),
    "Element": ("im.vector.app", "im.vector.app"),
    "Threema": ("ch.threema.iapp", "ch.threema.app"),
    "Discord": ("com.hammerandchisel.discord", "com.discord"),
    "Twitter": ("com.atebits.Tweetie2", "com.twitter.android"),
    "Facebook Messenger": ("com.facebook.Messenger", "com.facebook.orca"),
}

# Apps that exist only in the synthetic demo (placeholder ids, never matched in real data).
SYNTHETIC_ONLY: frozenset[str] = frozenset({"Gab"})

# (store, app id) -> canonical name
APP_IDS: dict[tuple[str, str], str] = {
    **{("ios", ids[0]): name for name, ids in APPS.items() if name not in SYNTHETIC_ONLY},
    **{("google_play", ids[1]): name for name, ids in APPS.items() if name not in SYNTHETIC_ONLY},
}


def ids_frame() -> pl.DataFrame:
    """:data:`APP_IDS` as a frame (store, app_id, canonical)."""
    return pl.DataFrame(
        [{"store": s, "app_id": i, "canonical": n} for (s, i), n in APP_IDS.items()],
        schema={"store": pl.String, "app_id": pl.String, "canonical": pl.String},
    )


def canonical_names(frame: pl.DataFrame, title: str = "app_name") -> pl.DataFrame:
    """Replace ``app_name`` by the canonical name where (store, app_id) is a known app."""
    return (
        frame.join(ids_frame(), on=["store", "app_id"], how="left")
        .with_columns(pl.coalesce("canonical", title).alias("app_name"))
        .drop("canonical")
    )


# Wikidata items of the apps (used to resolve each edition's article title through sitelinks, and
# to filter Wikimedia's per-country release by ``item_id``).  Every QID is recorded with the
# independent sources it was checked against; an app without a checked QID is absent here.
# Telegram, Parler, Gab, MeWe, Rumble, Element and Threema are absent: searching the stored public
# pages, documentation and code (issue 16) found no two independent sources stating their QIDs
# (one code file gave Telegram as Q2444189 but also gave WhatsApp a wrong QID, Q1049240), so they
# are left out rather than guessed.  Their articles are fetched by title (``en:Parler``) until a
# QID is checked; add it here with its sources and the app name resolves on every edition.
QIDS: dict[str, str] = {
    "Signal": "Q19718090",
    "WhatsApp": "Q1049511",
    "Twitter": "Q918",
}
QID_SOURCES: dict[str, tuple[str, ...]] = {
    "Signal": ("issue 18: checked from independent sources by the issue's author",),
    "WhatsApp": ("issue 18: checked from independent sources by the issue's author",),
    "Twitter": ("issue 18: checked from independent sources by the issue's author",),
}


# The apps the question names: the answer always reports them, first and in this order.
SEED_APPS: tuple[str, ...] = ("Signal", "Telegram", "Parler", "MeWe", "Rumble", "WhatsApp")


def app_order(apps: Sequence[str] | None, present: Sequence[str]) -> list[str]:
    """The apps of ``present`` in reading order: the seed apps, then the selected ``apps``, in their
    order, then any other present app alphabetically (one order for every table and figure)."""
    wanted = list(dict.fromkeys([*SEED_APPS, *(apps or [])]))
    return [a for a in wanted if a in present] + sorted(a for a in present if a not in wanted)
