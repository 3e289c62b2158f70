#!/usr/bin/env bash
# System libraries pcc needs. open3d links libusb-1.0.so.0; when we are root and it is
# missing, install it with apt. Otherwise pcc falls back to the `libusb-package` wheel
# (pcc/_open3d.py preloads it), so a non-root install still works.
set -u
if ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0'; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing libusb-1.0-0 (needed by open3d)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libusb-1.0-0) >/dev/null 2>&1 \
    || echo "apt-get failed; open3d will use the libusb-package fallback"
else
  echo "libusb-1.0 not found and not root: open3d will use the libusb-package fallback"
fi
exit 0
