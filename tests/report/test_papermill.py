"""A notebook runs directly with papermill, as docs/student-parameters.md says: the `exodus`
kernel is registered with the environment, and list parameters given as text (JSON or comma
list) reach the notebook as lists."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.config import ROOT


def test_first_exodus_command_registers_the_notebooks_kernel_with_this_interpreter():
    from analysis.cli.main import register_kernel

    spec = json.loads(register_kernel().read_text())
    assert spec["argv"][0] == sys.executable
    from jupyter_client.kernelspec import KernelSpecManager

    assert Path(KernelSpecManager().find_kernel_specs()["exodus"]) == register_kernel().parent


def _documented_papermill() -> list[str]:
    import shlex

    text = (ROOT / "docs" / "student-parameters.md").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith(".venv/bin/papermill "))
    return shlex.split(line)


@pytest.mark.slow
def test_the_documented_papermill_command_runs_and_gives_the_notebook_lists(tmp_path):
    """The command of the docs, as written, on a copy of its notebook with one cell appended that
    prints the parameters the kernel holds (the notebook's variable and the typed params)."""
    argv = _documented_papermill()
    nb = json.loads((ROOT / argv[1]).read_text())
    nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "probe", "metadata": {}, "outputs": [],
                        "source": "print('PROBE', countries, ctx.params.countries, apps)"})
    probe, out = tmp_path / "probe.ipynb", tmp_path / "out.ipynb"
    probe.write_text(json.dumps(nb))
    done = subprocess.run([argv[0], str(probe), str(out), *argv[3:]], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    outputs = json.loads(out.read_text())["cells"][-1]["outputs"]
    printed = "".join("".join(o["text"]) if isinstance(o.get("text"), list) else o.get("text", "") for o in outputs)
    assert printed.strip() == "PROBE ['us', 'in'] ['us', 'in'] ['Signal', 'Telegram']"
    assert "KeyboardInterrupt" not in done.stderr
