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
    from analysis.report.run import runner

    overrides = params.parse_assignments(args.param or [])
    outcome = runner.run(args.study, overrides, cell_timeout=args.cell_timeout, force=args.force)
    _print_study_effects(outcome.path / "manifest.json")
    _print_headline(outcome.path)
    print(outcome.message, file=sys.stderr)
    print(outcome.path / "index.html")
    return outcome.exit_code


def _cmd_verify(args: argparse.Namespace) -> int:
    from analysis.config import reports_dir
    from analysis.report.run.verify import verify_command

    return verify_command(reports_dir(), list(args.versions), sys.stdout)


def _print_headline(version_dir: Path) -> None:
    """The headline table of the version (app, country, deplatforming, privacy shock, all events)
    on stderr, right before the status line (stdout stays the report's path)."""
    from analysis.report.answer.headline import print_headline

    print_headline(version_dir, sys.stderr)


def _print_study_effects(manifest: Path) -> None:
    """Real studies with study notes (pageview studies): print the answer table on stderr."""
    import json

    from analysis.report.answer.text import print_answer

    try:
        m = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return
    if m.get("study_notes"):
        print_answer(manifest.parent, sys.stderr)


def _cmd_params(args: argparse.Namespace) -> int:
    from analysis.cli.params_list import print_params

    return print_params(args.study, sys.stdout)


def _positive_seconds(text: str) -> int:
    """``--cell-timeout``: a whole number of seconds, at least 1 (argparse exits 2 otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects whole seconds, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 second, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="exodus", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="execute the notebooks and write a new report version")
    r.add_argument("--study", default="demo", choices=STUDY_NAMES, metavar="STUDY",
                   help=f"study to run: {', '.join(STUDY_NAMES)} (default: demo, SYNTHETIC and offline)")
    r.add_argument("-p", "--param", action="append", metavar="NAME=VALUE",
                   help="override a notebook parameter (repeatable; lists: a,b,c); see 'exodus params'")
    r.add_argument("--cell-timeout", type=_positive_seconds, default=900, help="seconds allowed per notebook cell (>= 1)")
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
    from analysis.cli.fit import command as cli_fit; cli_fit.register(sub)  # noqa: E702, I001
    return p


def register_kernel() -> Path:
    """Register the notebooks' ``exodus`` kernel (this interpreter) with the environment, once.

    The notebooks name the kernel ``exodus``; without its kernelspec under
    ``<sys.prefix>/share/jupyter/kernels/`` a direct ``papermill`` (or Jupyter) run fails with
    ``NoSuchKernel``.  ``make env`` registers it too; this covers an environment made by hand
    (``uv sync``).  A read-only environment is left alone (the runner uses its own kernel)."""
    import contextlib
    import json

    from analysis.report.run.kernel_launch import MODULE

    target = Path(sys.prefix) / "share" / "jupyter" / "kernels" / "exodus" / "kernel.json"
    try:
        argv = json.loads(target.read_text())["argv"]
    except (OSError, ValueError, KeyError, TypeError):
        argv = []
    if argv[:1] != [sys.executable] or MODULE not in argv:  # missing or stale (another interpreter)
        with contextlib.suppress(OSError):
            from analysis.report.run.kernel import ensure_kernel

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
    except OSError as exc:  # a path that cannot be read or written: one line, never a traceback
        import errno

        from analysis.report.run.publish import describe

        bad_path = exc.errno in (errno.EISDIR, errno.ENOTDIR, errno.ENOENT, errno.ENAMETOOLONG)
        print(f"exodus: error: cannot {'use the path' if bad_path else 'read or write a file'}: {describe(exc)}",
              file=sys.stderr)
        return 2 if bad_path else 1
    except KeyboardInterrupt:
        print("exodus: interrupted; no version was marked complete", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
