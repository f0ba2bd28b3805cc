"""The lock's ``repo`` is validated strictly (issue 20): it becomes part of request URLs."""

from __future__ import annotations

import json
from datetime import date

import pytest

from analysis.data.sources import archive as ar
from analysis.data.sources.lock import FORMAT, Request, check_repo, read_lock
from analysis.errors import DataError, InputError


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
