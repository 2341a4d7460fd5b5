"""Progress notifications while helm waits for resources, so a client sees a long wait is alive."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

from kubehelm_mcp.context import CallContext

T = TypeVar("T")
INTERVAL = 1.0


async def with_progress(ctx: CallContext, work: Awaitable[T], total: float, message: str) -> T:
    """Await `work`, reporting elapsed seconds against `total` every INTERVAL until it finishes."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        while True:
            elapsed = loop.time() - started
            await ctx.report_progress(min(elapsed, total), total, message)
            done, _ = await asyncio.wait({task}, timeout=INTERVAL)
            if done:
                return task.result()
    finally:
        if not task.done():  # cancelled from outside: stop helm too
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
