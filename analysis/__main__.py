"""``python -m analysis`` is the same as the ``exodus`` command."""

from analysis.cli import main

raise SystemExit(main())
