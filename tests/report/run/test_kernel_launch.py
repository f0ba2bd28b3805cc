"""The notebooks' kernel drops only ipykernel's shutdown-interrupt error line."""

from __future__ import annotations

import logging
import sys

import pytest

from analysis.report.run.kernel_launch import DropShutdownInterrupt


def _record(msg: str) -> logging.LogRecord:
    return logging.LogRecord("IPKernelApp", logging.ERROR, __file__, 1, msg, None, None)


def test_filter_drops_the_shutdown_interrupt_line_and_keeps_every_other_error():
    f = DropShutdownInterrupt()
    assert not f.filter(_record("KeyboardInterrupt caught in kernel."))
    assert not f.filter(_record("KeyboardInterrupt caught in kernel"))
    assert f.filter(_record("Exception in message handler:"))
    assert f.filter(_record("an error that mentions KeyboardInterrupt caught in kernel later"))


@pytest.mark.slow
def test_a_kernel_started_by_the_launcher_runs_code_and_logs_real_errors_only(tmp_path):
    """A real kernel of the exodus kernelspec: the noise logged through the kernel's own logger
    is dropped, a different error line still reaches stderr."""
    from jupyter_client.manager import start_new_kernel

    from analysis.cli.main import register_kernel

    register_kernel()
    err = open(tmp_path / "stderr.txt", "w")  # noqa: SIM115 (closed below, after the kernel)
    km, kc = start_new_kernel(kernel_name="exodus", stderr=err)
    try:
        code = ("k = get_ipython().kernel\nk.log.error('KeyboardInterrupt caught in kernel.')\n"
                "k.log.error('a real kernel error')\nprint(1 + 1)")
        reply = kc.execute_interactive(code, timeout=60)
        assert reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
        err.close()
    text = (tmp_path / "stderr.txt").read_text()
    assert "a real kernel error" in text and "KeyboardInterrupt caught in kernel" not in text
    assert sys.executable == km.kernel_spec.argv[0]
