# ruff: noqa: RUF006  (deliberately legacy code for taskwise audit)
"""A small fan-out pipeline, importing asyncio under an alias.

Patterns here: ``ensure_future`` on coroutines (TW101, rewritten) and on a
Future returned by ``gather`` (TW101, left for review: ``create_task`` would
raise TypeError), a dangling ``create_task`` (TW102), ``asyncio.Task(...)``
(TW103) and ``asyncio.iscoroutinefunction`` (TW205).
"""

import asyncio as aio


async def square(n):
    await aio.sleep(0)
    return n * n


async def record(log, message):
    log.append(message)


async def pipeline(log):
    tasks = [aio.ensure_future(square(n)) for n in range(4)]
    squares = await aio.gather(*tasks)
    log.append(f"squares {squares}")

    both = aio.ensure_future(aio.gather(square(5), square(6)))
    log.append(f"gathered {await both}")

    aio.create_task(record(log, "recorded in the background"))
    direct = aio.Task(square(7))
    log.append(f"direct task {await direct}")
    await aio.sleep(0)
    return log


def describe(func):
    kind = "coroutine function" if aio.iscoroutinefunction(func) else "plain function"
    return f"{func.__name__} is a {kind}"
