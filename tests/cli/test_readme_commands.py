"""Every command in the documentation's ``sh`` blocks is runnable as written, in a fresh shell.

The rule (generic, not pinned to today's lines): a fenced block marked ``sh`` holds commands a
reader can paste; synopses and transcripts use ``text``.  Each command (backslash continuations
joined, comments dropped, split at ``&&``, ``||``, ``;``, leading ``VAR=value`` assignments
skipped) must name a program that exists without an activated virtual environment, so a bare
``exodus`` (on PATH only inside ``source .venv/bin/activate``) fails the test.  Then:

- ``make TARGET``: TARGET is a target of the Makefile;
- ``.venv/bin/exodus ...`` / ``.venv/bin/python -m analysis ...``: the arguments parse; cheap
  subcommands run (``params``, ``verify`` against an empty reports directory, every
  subcommand's ``--help``); ``run`` resolves its ``-p`` values with the study's defaults
  exactly as the run would (unknown or renamed parameters, wrong types), without running;
- ``.venv/bin/papermill IN OUT ...``: the input notebook exists (the run itself is the slow
  test ``tests/report/test_papermill.py``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from analysis.config import ROOT

DOCUMENTS = ("README.md", "docs/student-parameters.md")
SEPARATORS = {"&&", "||", ";", "|"}
VENV_BIN = ROOT / ".venv" / "bin"


def sh_blocks(text: str) -> list[str]:
    """The bodies of the fenced blocks marked ``sh`` (or ``bash``, ``shell``)."""
    return re.findall(r"^```(?:sh|bash|shell)[ \t]*\n(.*?)^```", text, flags=re.M | re.S)


def commands(block: str) -> list[list[str]]:
    """The commands of a block as argument lists (continuations joined, comments dropped)."""
    joined = re.sub(r"\\\n", " ", block)
    out = []
    for line in joined.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        current: list[str] = []
        for token in lexer:
            if token in SEPARATORS:
                if current:
                    out.append(current)
                current = []
            else:
                current.append(token)
        if current:
            out.append(current)
    return [_drop_assignments(c) for c in out if _drop_assignments(c)]


def _drop_assignments(argv: list[str]) -> list[str]:
    i = 0
    while i < len(argv) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[i]):
        i += 1
    return argv[i:]


def all_commands() -> list[tuple[str, list[str]]]:
    found = []
    for doc in DOCUMENTS:
        path = ROOT / doc
        if path.exists():
            for block in sh_blocks(path.read_text()):
                found += [(doc, argv) for argv in commands(block)]
    return found


def _fresh_shell_path() -> str:
    """PATH as a fresh shell has it: without this project's virtual environment."""
    parts = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(p for p in parts if Path(p).resolve() != VENV_BIN.resolve())


def _program(argv: list[str]) -> Path | None:
    prog = argv[0]
    if "/" in prog:
        path = ROOT / prog
        return path if path.exists() else None
    found = shutil.which(prog, path=_fresh_shell_path())
    return Path(found) if found else None


def _make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w.-]*):", (ROOT / "Makefile").read_text(), flags=re.M))


def _exodus_args(argv: list[str]) -> list[str] | None:
    """The arguments of an ``exodus`` invocation, or None when the command is not one."""
    if argv[0].endswith("/exodus"):
        return argv[1:]
    if argv[0].endswith("/python") and argv[1:3] == ["-m", "analysis"]:
        return argv[3:]
    return None


def check_exodus(args: list[str], tmp_path: Path, monkeypatch) -> None:
    """Parse, then run what is cheap (see the module docstring)."""
    from analysis.cli.main import build_parser, main
    from analysis.data.studies.registry import study_defaults
    from analysis.params import parse_assignments, resolve

    ns = build_parser().parse_args(args)  # SystemExit(2) on a bad option
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path / "reports"))
    if ns.command in ("params", "verify"):
        assert main(args) == 0, args
    elif ns.command == "run":
        resolve(parse_assignments(ns.param or []), study_defaults(ns.study))
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([ns.command, *([ns.data_command] if getattr(ns, "data_command", None) else []),
                                   "--help"])
    assert exc.value.code == 0


COMMANDS = all_commands()


def test_the_documents_hold_commands_and_none_is_a_bare_exodus():
    assert len(COMMANDS) >= 5
    bare = [" ".join(a) for _, a in COMMANDS if a[0] == "exodus"]
    assert not bare, f"not on PATH in a fresh shell; write .venv/bin/exodus: {bare}"


@pytest.mark.parametrize(("doc", "argv"), COMMANDS, ids=[f"{d}:{' '.join(a)[:60]}" for d, a in COMMANDS])
def test_each_documented_command_runs_as_written(doc, argv, tmp_path, monkeypatch, capsys):
    program = _program(argv)
    assert program is not None, f"{doc}: {argv[0]!r} is not a program in a fresh shell (command: {' '.join(argv)})"
    if argv[0] == "make":
        missing = [t for t in argv[1:] if not t.startswith("-") and "=" not in t and t not in _make_targets()]
        assert not missing, f"{doc}: no Makefile target {missing}"
    elif (args := _exodus_args(argv)) is not None:
        check_exodus(args, tmp_path, monkeypatch)
    elif argv[0].endswith("/papermill"):
        assert (ROOT / argv[1]).is_file(), f"{doc}: notebook {argv[1]} not found"


def test_the_parser_of_sh_blocks_splits_chains_drops_comments_and_assignments():
    block = 'A=1 .venv/bin/exodus params  # list\nmake env && .venv/bin/exodus run \\\n  -p apps=a,b\n'
    assert commands(block) == [[".venv/bin/exodus", "params"], ["make", "env"],
                               [".venv/bin/exodus", "run", "-p", "apps=a,b"]]
    text = "x\n```sh\nmake test\n```\n```text\nexodus run [--study S]\n```\n"
    assert sh_blocks(text) == ["make test\n"]
