"""The lock's ``repo`` is validated strictly (issue 20): it becomes part of request URLs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from analysis.data.slug import PathEscape
from analysis.data.sources import archive as ar
from analysis.data.sources.lock import FORMAT, Request, check_repo, read_lock
from analysis.errors import DataError, InputError
from tests.cli.test_bad_input import CUSTOM, GOOD, HEADER, panel_rows  # noqa: F401


@pytest.mark.parametrize("repo", ["../../../../x", "owner/../x", "a/b/c", "a/..", "a/.", "-a/b", "a-/b", "a/b?x=1",
                                  "a/b#f", "a/b%2e%2e", "a /b", "", "a", "/b", "a/", "x" * 40 + "/b", 7, None])
def test_a_repo_that_is_not_owner_slash_name_is_refused(repo):
    with pytest.raises(InputError, match="is not a GitHub owner/name"):
        check_repo(repo)


@pytest.mark.parametrize("repo", [ar.REPO, "a/b", "octo-cat/hello.world_2", "A1/.github"])
def test_github_owner_names_pass(repo):
    assert check_repo(repo) == repo


def test_a_lock_file_with_a_traversing_repo_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "lock.json"
    path.write_text(json.dumps({"format": FORMAT, "stores": ["ios"], "countries": ["us"], "charts": ["top_free_overall"],
                                "start": "2021-01-01", "end": "2021-01-02", "rule": "nearest:12",
                                "repo": "../../../../x", "entries": []}))
    with pytest.raises(DataError) as exc:
        read_lock(path)
    assert str(path) in str(exc.value) and "'../../../../x' is not a GitHub owner/name" in str(exc.value)
    with pytest.raises(InputError):
        Request(["ios"], ["us"], ["top_free_overall"], date(2021, 1, 1), date(2021, 1, 2), repo="x/y/../../z")


def _lock_file(tmp_path, path: str, store="ios", country="us", sha=None) -> Path:
    from analysis.data.sources.lock import Entry, Lock, Request, write_lock

    req = Request(stores=["ios"], countries=["us"], charts=["top_free_overall"], start=date(2021, 1, 1),
                  end=date(2021, 1, 1))
    entry = Entry(path=path, store=store, country=country, chart="top_free_overall", date="2021-01-01",
                  commit="a" * 40, snapshot_utc="2021-01-01T12:00:00Z", sha256=sha)
    out = tmp_path / "lock.json"
    write_lock(Lock(req, [entry]), out)
    return out


@pytest.mark.parametrize(("path", "phrase"), [
    ("/tmp/app_store/rankings/us_TOP_FREE_IOS.json", "is not an archive chart path"),
    ("../../app_store/rankings/us_TOP_FREE_IOS.json", "is not an archive chart path"),
    ("app_store/rankings/../../../../outside/app_store/rankings/us_TOP_FREE_IOS.json", "is not an archive chart path"),
    ("x/app_store/rankings/us_TOP_FREE_IOS.json", "is not an archive chart path"),
    ("app_store/rankings/us_TOP_FREE_IOS.json\n", "is not an archive chart path"),
    ("play_store/rankings/us_TOP_FREE.json", "but the entry says ios/us"),
])
def test_lock_entry_paths_must_match_the_archive_grammar_in_full(path, phrase, tmp_path):
    from analysis.data.sources.lock import read_lock

    with pytest.raises(DataError, match="entry 1 is malformed") as exc:
        read_lock(_lock_file(tmp_path, path))
    assert phrase in str(exc.value) and "lock.json" in str(exc.value)


def test_a_good_lock_entry_still_reads(tmp_path):
    from analysis.data.sources.lock import read_lock

    assert read_lock(_lock_file(tmp_path, "app_store/rankings/us_TOP_FREE_IOS.json")).entries[0].country == "us"


def test_a_bogus_hash_never_renames_a_file_outside_the_cache(tmp_path):
    """Even an entry that bypasses read_lock cannot reach outside the cache or the mirror."""
    from analysis.data.sources import fetch
    from analysis.data.sources.lock import Entry

    victim = tmp_path / "victim.json"
    victim.write_text("[]")
    e = Entry(path="../../../victim.json", store="ios", country="us", chart="top_free_overall", date="2021-01-01",
              commit="a" * 40, snapshot_utc="2021-01-01T12:00:00Z", sha256="0" * 64)
    with pytest.raises(PathEscape, match="lock entry path"):
        fetch.local_bytes(e, 1, "lock.json", cache=tmp_path / "cache" / "x")
    with pytest.raises(PathEscape, match="lock entry path"):
        fetch.from_mirror(e, tmp_path / "mirror")
    assert victim.read_text() == "[]" and not list(tmp_path.glob("*.mismatch"))
