"""The command line every benchmark shares."""

from __future__ import annotations

import argparse
from pathlib import Path


def parser(doc: str | None, dump: bool = False) -> argparse.ArgumentParser:
    """A parser showing the module's docstring, with --runs (calls per measurement) and, where the
    benchmark sizes results, --dump DIR (to see what the bytes are)."""
    made = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    made.add_argument("--runs", type=int, default=200, help="calls per measurement (default 200)")
    if dump:
        made.add_argument("--dump", type=Path, help="also write every sized result into this directory")
    return made
