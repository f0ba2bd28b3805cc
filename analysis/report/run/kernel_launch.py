"""The notebooks' kernel: ipykernel, without the shutdown interrupt's error line.

When papermill (nbclient) finishes a notebook it shuts the kernel down, and jupyter_client's
``shutdown_kernel`` first *interrupts* it (SIGINT; ``KernelManager.shutdown_wait_time`` help:
"the kernel will be immediately sent an interrupt (SIGINT), followed by a shutdown_request
message").  A kernel caught inside a message handler at that moment logs
``[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.`` (ipykernel ``kernelbase``) on
the terminal of a run that succeeded.  This launcher starts the same kernel as
``python -m ipykernel_launcher`` with a logging filter that drops exactly that record; every
other message (any real error) still reaches the log.  The kernelspecs of
:func:`analysis.report.run.runner.ensure_kernel` run ``python -m analysis.report.run.kernel_launch``.
"""

from __future__ import annotations

import logging

SHUTDOWN_NOISE = "KeyboardInterrupt caught in kernel"
MODULE = "analysis.report.run.kernel_launch"  # what the kernelspecs run: python -m MODULE -f {connection_file}


class DropShutdownInterrupt(logging.Filter):
    """Drop the record ipykernel logs when the shutdown interrupt lands in a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(SHUTDOWN_NOISE)


def main() -> None:
    """``ipykernel_launcher``'s start-up (``IPKernelApp.launch_instance``) with the filter installed
    on the application's logger and its handlers once it is initialised."""
    import sys
    from pathlib import Path

    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):  # as ipykernel_launcher does;
        del sys.path[0]  # InteractiveShellApp.init_path adds it back
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize()
    quiet = DropShutdownInterrupt()
    app.log.addFilter(quiet)
    for handler in app.log.handlers:
        handler.addFilter(quiet)
    app.start()


if __name__ == "__main__":
    main()
