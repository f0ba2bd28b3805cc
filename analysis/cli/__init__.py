"""Command line: ``exodus run|params|fit|data|verify`` (also ``python -m analysis``)."""

from analysis.cli.main import main

__all__ = ["main"]
