"""One switch for progress bars: shown on a terminal or in an interactive Jupyter kernel, never in logs.

Every progress bar in pcc goes through :func:`progress_bar` (a ``tqdm`` bar), and every function
with a ``progress`` argument resolves it with :func:`progress_enabled`:

* ``PCC_PROGRESS=1`` / ``PCC_PROGRESS=0`` in the environment forces bars on / off (it wins over
  everything else);
* ``progress=False`` turns bars off;
* ``progress=True`` or ``None`` (the default) means "where they can be seen": on when stderr is a
  terminal; in a Jupyter kernel, on only when the kernel was started by an interactive front end
  (JupyterLab / Notebook / Jupyter Server / JupyterHub, VS Code, Voila, Spyder) and off when it was
  started by anything else (papermill, nbclient/nbconvert, nbval/pytest, ``pcc sweep``, a script
  calling papermill); off when stderr is a pipe or a file (``make demo > log`` writes no ``\\r``).

Taught in ``notebooks/01_sensitivity.ipynb`` (where the first bar appears).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

ENV = "PCC_PROGRESS"
#: Words in the command line of a kernel's parent process that mark a batch (non-interactive) run.
BATCH_RUNNERS = ("papermill", "nbclient", "nbconvert", "nbval", "pytest", "pcc sweep")
#: Words that mark an interactive front end as the kernel's parent.
INTERACTIVE_FRONTENDS = (
    "jupyter",
    "vscode",
    "code-server",
    "/code",
    "code.exe",
    "code helper",
    "voila",
    "spyder",
)


def _env_override() -> bool | None:
    value = os.environ.get(ENV, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return None


def _parent_cmdline() -> str:
    """The command line of this process's parent ('' if unknown)."""
    ppid = os.getppid()
    try:
        with open(f"/proc/{ppid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        pass
    try:
        import psutil

        return " ".join(psutil.Process(ppid).cmdline())
    except Exception:  # noqa: BLE001 - no psutil, no permission: unknown parent
        return ""


def in_jupyter_kernel() -> bool:
    """True inside an IPython kernel (Jupyter, papermill, nbval), False in a plain interpreter."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:  # noqa: BLE001 - IPython missing or broken: not a kernel
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def run_by_batch_runner(cmdline: str | None = None) -> bool:
    """True unless this kernel's parent process is an interactive front end (see the docstring).

    ``cmdline`` is the parent's command line (default: read from the system).
    """
    cmd = (_parent_cmdline() if cmdline is None else cmdline).lower()
    if any(word in cmd for word in BATCH_RUNNERS):
        return True
    return not any(word in cmd for word in INTERACTIVE_FRONTENDS)


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr is not None and sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to draw progress bars (the rules are in the module docstring)."""
    forced = _env_override()
    if forced is not None:
        return forced
    if progress is False:
        return False
    if in_jupyter_kernel():
        return not run_by_batch_runner()
    return _stderr_is_terminal()


def progress_bar(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str | None = None,
    progress: bool | None = None,
    leave: bool = False,
    **kwargs,
):
    """A ``tqdm`` bar (notebook widget in Jupyter) that is disabled unless :func:`progress_enabled`.

    A disabled bar still iterates and accepts ``update``/``set_postfix``/``close`` as no-ops.
    """
    from tqdm.auto import tqdm

    return tqdm(
        iterable,
        total=total,
        desc=desc,
        disable=not progress_enabled(progress),
        leave=leave,
        **kwargs,
    )
