"""TaskGroup in several threads at once, each thread with its own event loop (issue 8, 1b).

A ``contextvars.Context`` can be entered by one thread at a time. Groups used
to run their done-callbacks in one module-global Context, so loops in two
threads collided on it: ``RuntimeError: cannot enter context`` in one loop, the
callback never ran and its group waited forever; under uvloop the loop died.

The threads here switch as often as the interpreter allows, so that one enters
the callback context while another is inside it. The test is bounded in time
whatever happens: the loops stop waiting for their groups as soon as anything
is reported (or after ``DEADLINE``), and the threads are joined with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from taskwise import TaskGroup

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop has no Windows build
    uvloop = None

THREADS = 4
GROUPS = 200  # per round and thread, all running at once
ROUNDS = 3
# asyncio's debug mode (the 3.13 leg of the suite) costs ~30x per task: do less there.
if sys.flags.dev_mode or os.environ.get("PYTHONASYNCIODEBUG"):
    GROUPS, ROUNDS = 50, 1
DEADLINE = 20.0  # seconds; the groups need well under one, and trouble ends the wait at once


class Boom(Exception):
    pass


async def child(value: int, fail: bool) -> int:
    await asyncio.sleep(0)
    if fail:
        raise Boom(value)
    await asyncio.sleep(0)
    return value


async def one_group(number: int) -> str:
    """A group with three children, one of which fails in every third group."""
    fails = number % 3 == 0
    try:
        async with TaskGroup(f"group-{number}") as tg:
            tasks = [tg.spawn(child(number + k, fail=fails and k == 1)) for k in range(3)]
    except BaseExceptionGroup as eg:
        return "failed" if [type(e) for e in eg.exceptions] == [Boom] else repr(eg)
    results = [t.result() for t in tasks]
    return "ok" if results == [number, number + 1, number + 2] else repr(results)


async def many_groups(trouble: threading.Event) -> list[str]:
    """Run the groups in rounds; give up on them once anything reports trouble."""
    outcomes: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    for _ in range(ROUNDS):
        tasks = [asyncio.ensure_future(one_group(n)) for n in range(GROUPS)]
        everything = asyncio.gather(*tasks)
        while not (everything.done() or trouble.is_set() or loop.time() > deadline):
            await asyncio.wait([everything], timeout=0.05)
        # A group stuck by a lost callback never finishes, even when cancelled: leave
        # it (the loop is closed with it), and say so.
        outcomes += [t.result() if t.done() else "stuck" for t in tasks]
        if not everything.done():
            break
    return outcomes


class Reports(logging.Handler):
    """What reaches the loops' exception handlers, or asyncio's log instead.

    (From 3.12 a handler runs in the context of the failed callback: when that
    context cannot be entered, asyncio logs the report.)
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.reports: list[str] = []
        self.trouble = threading.Event()

    def add(self, report: str) -> None:
        self.reports.append(report)
        self.trouble.set()

    def emit(self, record: logging.LogRecord) -> None:
        self.add(record.getMessage())

    def exception_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.add(f"{context['message']}: {context.get('exception')!r}")


def run_thread(
    new_loop: Callable[[], asyncio.AbstractEventLoop], reports: Reports, out: dict[str, Any]
) -> None:
    # Not asyncio.run(): its cleanup cancels what is left and waits for it, forever
    # for a stuck group. Closing the loop abandons it.
    try:
        loop = new_loop()
        loop.set_exception_handler(reports.exception_handler)
        try:
            out["outcomes"] = loop.run_until_complete(many_groups(reports.trouble))
        finally:
            loop.close()
    except BaseException as exc:  # under uvloop the collision kills the loop itself
        out["crash"] = repr(exc)


@contextlib.contextmanager
def threads_switching_often() -> Iterator[None]:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


LOOPS = [
    pytest.param(asyncio.new_event_loop, id="asyncio"),
    pytest.param(
        uvloop.new_event_loop if uvloop else None,
        id="uvloop",
        marks=pytest.mark.skipif(uvloop is None, reason="uvloop is not installed"),
    ),
]


@pytest.mark.parametrize("new_loop", LOOPS)
def test_groups_in_four_threads_at_once(new_loop: Callable[[], asyncio.AbstractEventLoop]) -> None:
    reports = Reports()
    results: list[dict[str, Any]] = [{} for _ in range(THREADS)]
    threads = [
        threading.Thread(target=run_thread, args=(new_loop, reports, out), daemon=True)
        for out in results
    ]
    asyncio_log = logging.getLogger("asyncio")
    asyncio_log.addHandler(reports)
    try:
        with threads_switching_often():
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(DEADLINE + 5.0)
    finally:
        asyncio_log.removeHandler(reports)
    assert not any(thread.is_alive() for thread in threads), "a loop hung"
    assert reports.reports[:3] == []
    expected = ["failed" if n % 3 == 0 else "ok" for n in range(GROUPS)] * ROUNDS
    assert [out.get("crash") for out in results] == [None] * THREADS
    assert [out["outcomes"] == expected for out in results] == [True] * THREADS
