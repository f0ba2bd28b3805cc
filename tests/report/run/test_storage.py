"""Version storage: identical inputs stored once (hard links to a content-addressed blob, never
to a tampered one); executed notebooks gzipped reproducibly and readable back."""

from __future__ import annotations

import hashlib

import nbformat
import pytest

from analysis.data.slug import PathEscape
from analysis.report.run import storage


def test_identical_inputs_of_two_versions_share_one_blob_named_by_its_sha256(tmp_path):
    store, blob = tmp_path / "demo" / ".inputs", b"date,rank\n2021-01-08,1\n"
    a = storage.write_input(tmp_path / "demo" / "v1" / "inputs", "panel.csv", blob, store)
    b = storage.write_input(tmp_path / "demo" / "v2" / "inputs", "panel.csv", blob, store)
    sha = hashlib.sha256(blob).hexdigest()
    assert a.read_bytes() == b.read_bytes() == blob
    assert a.stat().st_ino == b.stat().st_ino == (store / sha).stat().st_ino and a.stat().st_nlink == 3
    other = storage.write_input(tmp_path / "demo" / "v2" / "inputs", "events.csv", b"x\n", store)
    assert other.stat().st_ino != a.stat().st_ino and sorted(p.name for p in store.iterdir()) == sorted(
        [sha, hashlib.sha256(b"x\n").hexdigest()])


def test_a_tampered_blob_is_replaced_and_never_linked_into_a_new_version(tmp_path):
    store, blob = tmp_path / ".inputs", b"the exact bytes"
    old = storage.write_input(tmp_path / "v1", "a.csv", blob, store)
    old.chmod(0o644)
    old.write_bytes(b"tampered")  # through the link: the blob (and v1) changed
    new = storage.write_input(tmp_path / "v2", "a.csv", blob, store)
    assert new.read_bytes() == blob and old.read_bytes() == b"tampered"  # v1 stays tampered: verify says so
    assert new.stat().st_ino != old.stat().st_ino


def test_an_input_name_cannot_leave_the_inputs_directory(tmp_path):
    with pytest.raises(PathEscape):
        storage.write_input(tmp_path / "v1" / "inputs", "../../escape.csv", b"x", tmp_path / ".inputs")


def test_notebooks_are_gzipped_byte_identically_and_read_back(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        nbformat.write(nb, tmp_path / d / "01.ipynb")
        assert storage.compress_notebooks(tmp_path / d) == [tmp_path / d / "01.ipynb.gz"]
    assert (tmp_path / "a" / "01.ipynb.gz").read_bytes() == (tmp_path / "b" / "01.ipynb.gz").read_bytes()
    assert not (tmp_path / "a" / "01.ipynb").exists()
    back = storage.read_notebook(tmp_path / "a" / "01.ipynb")  # the plain name finds the .gz
    assert back.cells[0].source == "1 + 1"
