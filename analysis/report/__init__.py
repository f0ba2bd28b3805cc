"""Reports: the answer (``answer``), the offline pages (``page``), and the run itself (``run``:
plan, runner, execute, preflight, publish, verify)."""
