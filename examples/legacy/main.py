# ruff: noqa: UP036  (deliberately legacy code for taskwise audit)
"""Entry point of the legacy example: ``python examples/legacy/main.py``.

Its output is deterministic, so it can be compared before and after
``taskwise migrate --write``.  Patterns here: ``get_event_loop()`` outside a
coroutine (TW203), event-loop policies (TW204) and ``Task.all_tasks`` (TW206).
"""

import asyncio
import sys

import jobs
import pipeline


def pending_tasks():
    if sys.version_info < (3, 7):
        return asyncio.Task.all_tasks()
    return asyncio.all_tasks()


def on_done(future):
    # A callback runs inside the loop, so get_event_loop() finds it; still TW203.
    loop = asyncio.get_event_loop()
    print(f"callback saw a running loop: {loop.is_running()}")


async def main():
    runner = jobs.JobRunner()
    for line in await runner.run(["a", "b", "c"]):
        print(line)
    for line in await pipeline.pipeline([]):
        print(line)
    print(pipeline.describe(pipeline.square))
    print(pipeline.describe(print))
    done = asyncio.get_running_loop().create_future()
    done.add_done_callback(on_done)
    done.set_result(None)
    await asyncio.sleep(0)
    print(f"tasks still pending: {len(pending_tasks()) - 1}")


if __name__ == "__main__":
    if sys.platform == "win32":
        asyncio.set_event_loop_policy(asyncio.WindowsSelectorEventLoopPolicy())
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
