"""gather: all parts at once; a failure cancels the others and surfaces as itself."""

from __future__ import annotations

import asyncio

import pytest

from kubehelm_mcp.concurrency import gather
from kubehelm_mcp.errors import NotFound

pytestmark = pytest.mark.anyio


async def test_results_come_back_in_order() -> None:
    async def value(v: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return v

    assert await gather(value(1, 0.02), value(2, 0)) == (1, 2)


async def test_a_failure_cancels_the_siblings_and_is_raised_unwrapped() -> None:
    cancelled = asyncio.Event()

    async def slow() -> str:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    async def failing() -> str:
        await asyncio.sleep(0)
        raise NotFound("Release 'web' not found.")

    with pytest.raises(NotFound, match="Release 'web' not found"):
        await gather(slow(), failing())
    assert cancelled.is_set()
