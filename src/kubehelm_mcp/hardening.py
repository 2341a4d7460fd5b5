"""Best-effort process hardening for `kubehelm-mcp serve` on Linux.

The server holds cluster credentials in memory: it must not be dumpable (no core files, no
ptrace attach by same-uid processes) and, when it runs as root, it should not keep
capabilities it never uses. Each step is logged; a step the platform refuses is skipped.
Only the CLI calls this: an embedding application keeps control of its own process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import resource
import sys

log = logging.getLogger("kubehelm_mcp.hardening")

PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
CAP_LAST_CAP_FILE = "/proc/sys/kernel/cap_last_cap"


def _prctl() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    libc = ctypes.CDLL(libc_name, use_errno=True)
    return libc.prctl


def _last_capability() -> int:
    try:
        with open(CAP_LAST_CAP_FILE, encoding="ascii") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return 40


def harden() -> list[str]:
    """Apply every step this platform allows; return what was applied (for logs and tests)."""
    applied: list[str] = []
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        applied.append("no core dumps")
    except (ValueError, OSError) as exc:
        log.warning("hardening: could not disable core dumps: %s", exc)
    prctl = _prctl() if sys.platform.startswith("linux") else None
    if prctl is None:
        log.info("hardening: prctl is not available on this platform; skipped")
        return applied
    if prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0:
        applied.append("not dumpable")
    else:
        log.warning("hardening: PR_SET_DUMPABLE failed (errno %d)", ctypes.get_errno())
    if os.geteuid() == 0:
        dropped = sum(prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0 for cap in range(_last_capability() + 1))
        if dropped:
            applied.append(f"capability bounding set dropped ({dropped})")
    log.info("hardening: %s", ", ".join(applied) or "nothing applied")
    return applied
