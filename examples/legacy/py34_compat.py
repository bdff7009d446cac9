"""A module left over from Python 3.4; never imported, it no longer parses.

``taskwise audit`` still reports what is inside (TW104, TW206); ``taskwise
migrate`` cannot parse it and lists it as left unchanged.
"""

import asyncio


@asyncio.coroutine
def tick():
    yield from asyncio.sleep(0)


def start():
    return asyncio.async(tick())
