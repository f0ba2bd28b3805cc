"""The ``exodus`` command line (also ``python -m analysis``).

Exit codes: 0 success, 1 a run failed (the failed version is kept and named), 2 bad input
(arguments, parameters or data), with a one-paragraph message on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.cli.params_list import STUDY_NAMES
from analysis.errors import ExodusError


def _cmd_run(args: argparse.Namespace) -> int:
    from analysis import params
    from analysis.report import run as runner

    overrides = params.parse_assignments(args.param or [])
    outcome = runner.run(args.study, overrides, cell_timeout=args.cell_timeout, force=args.force)
    print(outcome.message, file=sys.stderr)
    _print_study_effects(outcome.path / "manifest.json")
    print(outcome.path / "index.html")
    return outcome.exit_code


def _cmd_verify(args: argparse.Namespace) -> int:
    from analysis.config import reports_dir
    from analysis.report.verify import verify_command

    return verify_command(reports_dir(), list(args.versions), sys.stdout)


def _print_study_effects(manifest: Path) -> None:
    """Real studies with study notes (pageview studies): print the answer table on stderr."""
    import json

    from analysis.report.answer_text import print_answer

    try:
        m = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return
    if m.get("study_notes"):
        print_answer(manifest.parent, sys.stderr)


def _cmd_params(args: argparse.Namespace) -> int:
    from analysis.cli.params_list import print_params

    return print_params(args.study, sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="exodus", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="execute the notebooks and write a new report version")
    r.add_argument("--study", default="demo", choices=STUDY_NAMES, metavar="STUDY",
                   help=f"study to run: {', '.join(STUDY_NAMES)} (default: demo, SYNTHETIC and offline)")
    r.add_argument("-p", "--param", action="append", metavar="NAME=VALUE",
                   help="override a notebook parameter (repeatable; lists: a,b,c); see 'exodus params'")
    r.add_argument("--cell-timeout", type=int, default=900, help="seconds allowed per notebook cell")
    r.add_argument("--force", action="store_true", help="run even if an identical version exists")
    r.set_defaults(func=_cmd_run)

    q = sub.add_parser("params", help="list every run parameter by group (data, design, model, robustness, output)")
    q.add_argument("--study", default="demo", choices=STUDY_NAMES, metavar="STUDY",
                   help=f"show this study's defaults: {', '.join(STUDY_NAMES)} (default: demo)")
    q.set_defaults(func=_cmd_params)
    v = sub.add_parser("verify", help="recompute the SHA-256 of every file of report versions against their manifests")
    v.add_argument("versions", nargs="*", metavar="VERSION",
                   help="version ids or directories (default: every version under the reports directory)")
    v.set_defaults(func=_cmd_verify)

    from analysis.cli import data as cli_data; cli_data.register(sub)  # noqa: E702, I001  (exodus data ...)
    from analysis.cli import fit as cli_fit; cli_fit.register(sub)  # noqa: E702, I001
    return p


def register_kernel() -> Path:
    """Register the notebooks' ``exodus`` kernel (this interpreter) with the environment, once.

    The notebooks name the kernel ``exodus``; without its kernelspec under
    ``<sys.prefix>/share/jupyter/kernels/`` a direct ``papermill`` (or Jupyter) run fails with
    ``NoSuchKernel``.  ``make env`` registers it too; this covers an environment made by hand
    (``uv sync``).  A read-only environment is left alone (the runner uses its own kernel)."""
    import contextlib
    import json

    from analysis.report.kernel_launch import MODULE

    target = Path(sys.prefix) / "share" / "jupyter" / "kernels" / "exodus" / "kernel.json"
    try:
        argv = json.loads(target.read_text())["argv"]
    except (OSError, ValueError, KeyError, TypeError):
        argv = []
    if argv[:1] != [sys.executable] or MODULE not in argv:  # missing or stale (another interpreter)
        with contextlib.suppress(OSError):
            from analysis.report.run import ensure_kernel

            ensure_kernel()
    return target


def main(argv: list[str] | None = None) -> int:
    register_kernel()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ExodusError as exc:
        print(f"exodus: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("exodus: interrupted; no version was marked complete", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
