"""environment.yml (conda/Binder) lists the same packages as pyproject.toml."""

from __future__ import annotations

import re
import tomllib

import yaml

from analysis.config import ROOT


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pins(reqs: list[str]) -> dict[str, str]:
    return {_name(r): r.replace(" ", "")[len(_name(r)):] for r in reqs}


def test_environment_yml_matches_pyproject():
    pp = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _pins(pp["dependencies"] + [r for extra in pp["optional-dependencies"].values() for r in extra])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            listed += [x for x in dep["pip"] if x != "-e ."]
        elif dep != "pip" and not dep.startswith("python="):
            listed.append(dep)
    have = _pins(listed)
    assert have == wanted, {"missing": wanted.keys() - have.keys(), "extra": have.keys() - wanted.keys(),
                            "differ": {k for k in wanted.keys() & have.keys() if wanted[k] != have[k]}}


def test_lock_file_is_committed_next_to_pyproject():
    assert (ROOT / "uv.lock").exists()
