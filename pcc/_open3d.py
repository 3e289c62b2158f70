"""Import open3d, preloading ``libusb-1.0`` from the ``libusb-package`` wheel when the system lacks it.

open3d's Linux wheels link ``libusb-1.0.so.0``. ``make install`` installs it with apt when it can;
this fallback keeps ``import open3d`` working on machines where that was not possible.
"""

from __future__ import annotations

import ctypes
import importlib


def import_open3d():
    """Return the ``open3d`` module (imported once, quietly)."""
    try:
        return importlib.import_module("open3d")
    except (ImportError, OSError) as first_error:
        try:
            import importlib.resources as resources

            import libusb_package

            lib = resources.files(libusb_package) / "libusb-1.0.so"
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
        except Exception:  # noqa: BLE001 - report the original failure below
            raise first_error from None
        return importlib.import_module("open3d")
