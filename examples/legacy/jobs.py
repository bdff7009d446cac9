# ruff: noqa: RUF006, UP036  (deliberately legacy code for taskwise audit)
"""A job runner written in the asyncio style of 2016 (Python 3.5 era).

Patterns here: ``ensure_future`` used to schedule coroutines (TW101), a dangling
task (TW102), ``get_event_loop()`` inside a coroutine (TW202) and a ``loop=``
argument that Python 3.10 removed (TW201, only on the pre-3.10 branch).
"""

import asyncio
import sys
from asyncio import ensure_future


def make_lock(loop):
    """Old code passed the loop everywhere; 3.10 removed ``loop=`` from locks."""
    if sys.version_info < (3, 10):
        return asyncio.Lock(loop=loop)
    return asyncio.Lock()


class JobRunner:
    """Runs jobs from a queue, one task per job."""

    def __init__(self):
        self.log = []
        self.queue = asyncio.Queue()

    async def _handle(self, job):
        await asyncio.sleep(0)
        self.log.append(f"handled {job}")
        self.queue.task_done()

    async def _worker(self):
        while True:
            job = await self.queue.get()
            # Fire and forget: nothing keeps this task alive.
            ensure_future(self._handle(job))

    async def run(self, jobs):
        loop = asyncio.get_event_loop()
        self.lock = make_lock(loop)
        worker = asyncio.ensure_future(self._worker(), loop=loop)
        async with self.lock:
            for job in jobs:
                self.queue.put_nowait(job)
            await self.queue.join()
        worker.cancel()
        try:
            await worker
        except asyncio.CancelledError:
            self.log.append("worker stopped")
        return self.log
