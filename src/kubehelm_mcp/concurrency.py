"""Running a call's independent parts at once, all or nothing.

asyncio.gather leaves the other parts running when one fails: a helm subprocess or an API
request would outlive the call that wanted it. Here a failure cancels the siblings and is
raised as itself (not wrapped in an ExceptionGroup), so the pipeline's error mapping still
sees the ToolError.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar, overload

import anyio

T = TypeVar("T")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")
T5 = TypeVar("T5")


@overload
async def gather(a1: Awaitable[T1], a2: Awaitable[T2], /) -> tuple[T1, T2]: ...
@overload
async def gather(
    a1: Awaitable[T1], a2: Awaitable[T2], a3: Awaitable[T3], a4: Awaitable[T4], /
) -> tuple[T1, T2, T3, T4]: ...
@overload
async def gather(
    a1: Awaitable[T1], a2: Awaitable[T2], a3: Awaitable[T3], a4: Awaitable[T4], a5: Awaitable[T5], /
) -> tuple[T1, T2, T3, T4, T5]: ...
@overload
async def gather(*parts: Awaitable[T]) -> tuple[T, ...]: ...
async def gather(*parts: Awaitable[Any]) -> tuple[Any, ...]:
    # anyio's task group, not asyncio.TaskGroup: the latter cancels and later uncancels its
    # parent task, which the pipeline's anyio cancel scopes (the call's timeout) miscount.
    results: list[Any] = [None] * len(parts)

    async def run(index: int, part: Awaitable[Any]) -> None:
        results[index] = await part

    try:
        async with anyio.create_task_group() as group:
            for index, part in enumerate(parts):
                group.start_soon(run, index, part)
    except BaseExceptionGroup as failed:
        raise _first_cause(failed) from None
    return tuple(results)


def _first_cause(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_cause(first) if isinstance(first, BaseExceptionGroup) else first
