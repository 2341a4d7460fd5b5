"""`kubehelm-mcp serve` hardens its own process (Linux, best effort) unless --no-harden."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import ctypes, ctypes.util, json, resource
from kubehelm_mcp.hardening import harden
applied = harden()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
capbnd = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("CapBnd:"))
print(json.dumps({"applied": applied, "dumpable": libc.prctl(3, 0, 0, 0, 0),
                  "core": resource.getrlimit(resource.RLIMIT_CORE), "capbnd": capbnd}))
"""


def test_harden_in_a_child_process() -> None:
    # In a child: hardening this test process would take capabilities from the test cluster it starts.
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60)
    seen = json.loads(out.stdout)
    assert seen["dumpable"] == 0
    assert seen["core"] == [0, 0]
    assert "not dumpable" in seen["applied"] and "no core dumps" in seen["applied"]
    assert int(seen["capbnd"], 16) == 0  # the tests run as root here, so the bounding set is emptied


def test_serve_logs_what_it_applied_and_no_harden_skips_it() -> None:
    def run(*flags: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "kubehelm_mcp", "serve", "--toolsets", "helm", *flags],
            input="",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return proc.stderr

    assert "hardening: no core dumps, not dumpable" in run()
    assert "hardening:" not in run("--no-harden")
