"""The package's structural limits (issue 9, "Layout that shows the flow", "Thin notebooks"),
checked on the source as text and syntax trees: fast, nothing imported or run.

- ``analysis/`` keeps at most 6 top-level modules; its subpackages mirror the data flow.
- The import graph of ``analysis`` (every import, those inside functions included) has no cycle;
  no module imports a private (``_``) name of another; and data flows one way:
  ``data`` -> ``models`` -> ``figures`` -> ``report`` -> ``cli`` (a layer never imports a later one).
- Only ``analysis/config.py`` reads ``EXODUS_*`` environment variables.
- No module over 600 lines (a concept lives in one subpackage, not split across modules to fit a
  smaller cap); no function over 70 lines (``end_lineno - lineno + 1`` of each ``def``/``async
  def``, nested ones included).
- At most 6 code lines recur in three or more notebooks (stripped, non-empty lines of the code
  cells other than ``parameters``); each notebook's setup is one call of
  ``analysis.report.run.setup.setup``.
- ``tests/`` mirrors the package tree.

There are no allow-lists: every check holds for the whole package, and each detector has a
self-test that shows it sees a violation.
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "analysis"
SUBPACKAGES = ("data", "models", "figures", "report", "cli")
MAX_TOP_LEVEL_MODULES = 6
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 70
MAX_RECURRING_NOTEBOOK_LINES = 6

# A read of an EXODUS_* variable: os.environ["EXODUS_X"], os.environ.get("EXODUS_X"), os.getenv("EXODUS_X"),
# "EXODUS_X" in os.environ, environ.setdefault/pop("EXODUS_X").
ENV_READ = re.compile(r"""(environ\s*(\[|\.(get|setdefault|pop)\s*\()|getenv\s*\()\s*["']EXODUS_"""
                      r"""|["']EXODUS_\w*["']\s+(not\s+)?in\s+(os\.)?environ""")


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def _rel(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


def _long_modules() -> dict[str, int]:
    sizes = {_rel(p): len(p.read_text().splitlines()) for p in _modules()}
    return {k: n for k, n in sizes.items() if n > MAX_MODULE_LINES}


def _long_functions() -> dict[str, int]:
    found = {}
    for p in _modules():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    found[f"{_rel(p)}:{node.name}"] = n
    return found


def _env_reads(path: Path) -> list[str]:
    """Lines of ``path`` reading an EXODUS_* variable: by the pattern above, and by the syntax tree
    (a subscript or call on ``environ``/``getenv`` whose key is an ``EXODUS_`` string)."""
    text = path.read_text()
    hits = [f"{_rel(path)}:{i}: {line.strip()}" for i, line in enumerate(text.splitlines(), 1) if ENV_READ.search(line)]
    for node in ast.walk(ast.parse(text)):
        key = None
        if isinstance(node, ast.Subscript) and "environ" in ast.unparse(node.value):
            key = node.slice
        elif isinstance(node, ast.Call) and node.args and re.search(r"environ\.\w+$|getenv$", ast.unparse(node.func)):
            key = node.args[0]
        if isinstance(key, ast.Constant) and str(key.value).startswith("EXODUS_"):
            hits.append(f"{_rel(path)}:{node.lineno}: {ast.unparse(node)}")
    return sorted(set(hits))


def _env_readers() -> dict[str, list[str]]:
    out = {}
    for p in _modules():
        if p != PKG / "config.py" and (hits := _env_reads(p)):
            out[_rel(p)] = hits
    return out


def test_analysis_keeps_at_most_six_top_level_modules_and_its_subpackages_follow_the_flow():
    top = sorted(p.name for p in PKG.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, f"{len(top)} top-level modules in analysis/: {top}"
    assert "config.py" in top
    for sub in SUBPACKAGES:
        assert (PKG / sub / "__init__.py").is_file(), f"analysis/{sub}/ is not a package"
    stray = sorted(p.name for p in PKG.iterdir()
                   if p.is_dir() and p.name not in SUBPACKAGES and p.name != "__pycache__")
    assert not stray, f"subpackages outside the flow {SUBPACKAGES}: {stray}"


def test_only_config_reads_exodus_variables():
    readers = _env_readers()
    assert not readers, ("EXODUS_* variables are read outside analysis/config.py; add a function there and "
                         f"call it instead: {readers}")


def test_the_env_read_detector_sees_every_form_of_read(tmp_path, monkeypatch):
    """The check above is only as good as its detector: each form of read is caught, a mention
    in a message or docstring is not."""
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    reads = ['os.environ["EXODUS_A"]', 'os.environ.get("EXODUS_B", "x")', "os.getenv('EXODUS_C')",
             'environ.setdefault("EXODUS_D", "1")', '"EXODUS_E" in os.environ', 'os.environ.pop("EXODUS_F")']
    for i, code in enumerate(reads):
        f = tmp_path / f"m{i}.py"
        f.write_text(f"import os\nfrom os import environ\nx = {code}\n")
        assert _env_reads(f), code
    f = tmp_path / "quiet.py"
    f.write_text('"""Set EXODUS_DATA_MIRROR=<dir>."""\nimport os\nmsg = "set EXODUS_DATA_MIRROR"\n'
                 'env = {"EXODUS_RUN": "1"}\nx = os.environ.get("GITHUB_TOKEN")\n')
    assert _env_reads(f) == []


def test_no_module_over_600_lines():
    long = _long_modules()
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them into focused modules): {long}"


def test_no_function_over_70_lines():
    long = _long_functions()
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (end_lineno - lineno + 1): {long}"


def _notebook_code(nb: Path) -> list[str]:
    """Code of the notebook's cells other than ``parameters``, one string a cell."""
    cells = json.loads(nb.read_text())["cells"]
    return ["".join(c["source"]) for c in cells
            if c["cell_type"] == "code" and "parameters" not in c.get("metadata", {}).get("tags", [])]


def _recurring_lines(notebooks: list[Path], at_least: int = 3) -> dict[str, list[str]]:
    seen: dict[str, set[str]] = defaultdict(set)
    for nb in notebooks:
        for cell in _notebook_code(nb):
            for line in cell.splitlines():
                if line.strip():
                    seen[line.strip()].add(nb.name)
    return {k: sorted(v) for k, v in seen.items() if len(v) >= at_least}


def test_at_most_six_code_lines_recur_in_three_or_more_notebooks():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 3
    recurring = _recurring_lines(notebooks)
    assert len(recurring) <= MAX_RECURRING_NOTEBOOK_LINES, (
        f"{len(recurring)} code lines recur in 3+ notebooks (at most {MAX_RECURRING_NOTEBOOK_LINES}); "
        f"move them into the package: {recurring}")


def test_recurring_line_count_is_counted_as_specified(tmp_path):
    def nb(name, *cells, params="x = 1"):
        doc = {"cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": [params]},
                         *({"cell_type": "code", "metadata": {}, "source": [c]} for c in cells),
                         {"cell_type": "markdown", "metadata": {}, "source": ["import polars as pl"]}]}
        (tmp_path / name).write_text(json.dumps(doc))
        return tmp_path / name
    paths = [nb("a.ipynb", "import polars as pl\n\nctx = setup()\n"), nb("b.ipynb", "  import polars as pl", "ctx = setup()"),
             nb("c.ipynb", "import polars as pl\nonly_here()"), nb("d.ipynb", "ctx = setup()")]
    assert _recurring_lines(paths) == {"import polars as pl": ["a.ipynb", "b.ipynb", "c.ipynb"],
                                       "ctx = setup()": ["a.ipynb", "b.ipynb", "d.ipynb"]}


def test_each_notebook_sets_up_with_one_call_of_report_setup():
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        tree = ast.parse("\n".join(_notebook_code(nb)))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "setup"]
        imported = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                    and n.module == "analysis.report.run.setup" and any(a.name == "setup" for a in n.names)]
        assert len(calls) == 1 and imported, f"{nb.name}: setup must be one call of analysis.report.run.setup.setup"
        setup_cell = next(c for c in _notebook_code(nb) if "setup(" in c)
        assert setup_cell == _notebook_code(nb)[0], f"{nb.name}: the setup call belongs in the first code cell"


def test_tests_mirror_the_package_tree():
    tests = ROOT / "tests"
    for sub in SUBPACKAGES:
        assert (tests / sub / "__init__.py").is_file(), f"tests/{sub}/ is missing (tests mirror analysis/{sub}/)"
    stray = sorted(p.name for p in tests.iterdir()
                   if p.is_dir() and p.name not in SUBPACKAGES and not p.name.startswith((".", "__")))
    assert not stray, f"test folders with no analysis/ counterpart: {stray}"
    # At the root: the tests of top-level modules (analysis/params.py, analysis/config.py with the
    # environment files), of the layout and the docs themselves; everything else goes to tests/<subpackage>/.
    root = sorted(p.name for p in tests.glob("test_*.py"))
    assert root == ["test_api.py", "test_docs.py", "test_environment.py", "test_layout.py", "test_params.py"], (
        f"move tests of analysis/<sub>/ into tests/<sub>/: {root}")


# ------------------------------------------------------------------------------ the import graph

LAYERS = {"data": 0, "models": 1, "figures": 2, "report": 3, "cli": 4}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = PKG) -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """(module -> the package modules it imports, [(importer, module, private name)]), from every
    ``import``/``from ... import`` of the package's source, inside functions too."""
    files = {_module_name(p): p for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts}
    edges: dict[str, set[str]] = defaultdict(set)
    private = []
    for name, path in files.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("analysis"):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    target = sub if sub in files else node.module
                    if target in files and target != name:
                        edges[name].add(target)
                    if target == node.module and alias.name.startswith("_") and not alias.name.startswith("__"):
                        private.append((name, node.module, alias.name))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in files and alias.name != name:
                        edges[name].add(alias.name)
    return edges, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan 1972)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def backward_edges(edges: dict[str, set[str]]) -> list[str]:
    """Imports from a later layer of the flow into an earlier one (``figures`` importing ``report``)."""
    def layer(m: str) -> int | None:
        parts = m.split(".")
        return LAYERS.get(parts[1]) if len(parts) > 2 else None
    return sorted(f"{a} -> {b}" for a, bs in edges.items() for b in bs
                  if layer(a) is not None and layer(b) is not None and layer(b) > layer(a))


def test_the_import_graph_has_no_cycle():
    edges, _ = import_graph()
    assert len(edges) > 50
    assert cycles(edges) == []


def test_no_module_imports_a_private_name_of_another():
    _, private = import_graph()
    assert private == [], [f"{a} imports {m}.{n}" for a, m, n in private]


def test_data_flows_one_way_through_the_layers():
    edges, _ = import_graph()
    assert backward_edges(edges) == []


def test_the_graph_checks_see_a_cycle_a_private_import_and_a_backward_edge(tmp_path):
    pkg = tmp_path / "analysis"
    for sub in ("data", "report"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "data" / "a.py").write_text("def f():\n    from analysis.data.b import _hidden\n")
    (pkg / "data" / "b.py").write_text("from analysis.data import a\nfrom analysis.report.c import x\n_hidden = 1\n")
    (pkg / "report" / "c.py").write_text("x = 1\n")
    import tests.test_layout as layout

    root = layout.ROOT
    try:
        layout.ROOT = tmp_path
        edges, private = import_graph(pkg)
    finally:
        layout.ROOT = root
    assert cycles(edges) == [["analysis.data.a", "analysis.data.b"]]
    assert private == [("analysis.data.a", "analysis.data.b", "_hidden")]
    assert backward_edges(edges) == ["analysis.data.b -> analysis.report.c"]
