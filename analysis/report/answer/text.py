"""The answer table as plain text for the terminal (``exodus run`` prints it for real studies)."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl


def _num(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:+.3f}"


def answer_lines(answer: pl.DataFrame, title: str = "The answer") -> list[str]:
    """One line per row of an ``answer`` table: app, country, event, estimand, kind, the value
    (estimate, or the bound of a one-sided interval: 'L <= b' / 'L >= b') and the interval."""
    lines = [title, f"  {'app':<10} {'ctry':<4} {'event_id':<9} {'estimand':<15} {'kind':<15} {'estimate/bound':>15}  CI"]
    for r in answer.iter_rows(named=True):
        est, lo, hi = r["estimate"], r["ci_low"], r["ci_high"]
        if r["kind"] == "not_identified":
            why = (r["sentence"] or "").partition("not identified: ")[2].rstrip(".")
            val, ci = "", f"not identified: {why}" if why else "not identified"
        elif r["kind"] == "bound" and (lo is None) != (hi is None):
            val = f"<= {_num(hi)}" if lo is None else f">= {_num(lo)}"
            ci = f"estimate {_num(est)}" if est is not None else "one-sided"
        else:
            val, ci = _num(est), f"[{_num(lo)}, {_num(hi)}]"
        lines.append(f"  {r['app_name']:<10} {r['country']:<4} {r['event_id'] or '-':<9} {r['estimand']:<15} "
                     f"{r['kind']:<15} {val:>15}  {ci}")
    return lines


def print_answer(version_dir: Path, file) -> None:
    """Print the version's answer table (``tables/*-answer.csv``), if it has one."""
    from analysis.report.answer.table import read_answer

    found = sorted(Path(version_dir).glob("tables/*-answer.csv"))
    if found:
        print("\n".join(answer_lines(read_answer(found[0]), f"The answer ({found[0].name})")), file=file)
