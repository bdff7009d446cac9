"""Graceful shutdown: spawned_tasks() and shutdown_spawned(), alone and in real frameworks."""

from __future__ import annotations

import asyncio
import gc
import socket
from typing import Any

import pytest

from taskwise import ShutdownResult, TaskGroup, shutdown_spawned, spawn, spawned_tasks

pytestmark = pytest.mark.anyio


async def iterations(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def slow(log: list[str], name: str, delay: float = 0.02) -> None:
    try:
        await asyncio.sleep(delay)
        log.append(f"{name} done")
    except asyncio.CancelledError as exc:
        log.append(f"{name} cancelled: {exc.args[0] if exc.args else ''}")
        raise


# --- the view ----------------------------------------------------------------------------


async def test_spawned_tasks_is_a_live_view_of_the_running_ones() -> None:
    view = spawned_tasks()
    before = len(view)
    nap = spawn(asyncio.sleep(10), name="nap")
    quick = spawn(asyncio.sleep(0), name="quick")
    assert nap in view
    assert len(view) == before + 2
    assert "'nap'" in repr(view)
    await quick
    assert quick not in view
    assert len(view) == before + 1
    async with TaskGroup() as tg:
        child = tg.spawn(asyncio.sleep(0))
        assert child not in view  # its group waits for it
    nap.cancel()
    await iterations(2)
    assert nap not in view
    assert view & {nap} == frozenset()
    assert len(view) == before


def test_the_view_and_the_drain_need_a_running_loop() -> None:
    with pytest.raises(RuntimeError, match=r"spawned_tasks\(\) needs a running event loop"):
        spawned_tasks()
    coro = shutdown_spawned()  # driven by hand: no loop runs
    with pytest.raises(RuntimeError, match=r"shutdown_spawned\(\) needs a running event loop"):
        coro.send(None)


# --- the drain ---------------------------------------------------------------------------


async def test_shutdown_waits_for_every_task_including_ones_spawned_meanwhile() -> None:
    log: list[str] = []

    async def chain() -> None:
        await asyncio.sleep(0.01)
        spawn(slow(log, "follow-up"))  # spawned while the drain waits
        log.append("chain done")

    spawn(slow(log, "first"))
    spawn(chain())
    result = await shutdown_spawned(timeout=5)
    assert result == ShutdownResult((), 5)
    assert str(result) == "every spawned task finished"
    assert sorted(log) == ["chain done", "first done", "follow-up done"]
    assert len(spawned_tasks()) == 0


async def test_after_the_timeout_the_rest_is_cancelled_with_a_reason_and_waited_for() -> None:
    log: list[str] = []
    spawn(slow(log, "quick", 0.01), name="quick")
    spawn(slow(log, "stuck", 60), name="stuck")
    spawn(slow(log, "stuck-too", 60), name="stuck-too")
    result = await shutdown_spawned(timeout=0.1)
    assert sorted(result.cancelled) == ["stuck", "stuck-too"]
    assert result.timeout == 0.1
    assert str(result).startswith("cancelled 2 spawned tasks still running after 0.1 s: ")
    reason = "taskwise.shutdown_spawned(): still running after the 0.1 s timeout"
    assert sorted(log) == [
        "quick done",
        f"stuck cancelled: {reason}",
        f"stuck-too cancelled: {reason}",
    ]
    assert len(spawned_tasks()) == 0


async def test_failures_during_the_drain_are_reported_exactly_once() -> None:
    seen: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _l, c: seen.append(c))

    async def fails_soon() -> None:
        await asyncio.sleep(0.01)
        raise ValueError("soon")

    async def fails_when_cancelled() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            raise KeyError("in cleanup")  # a faulty cleanup, on purpose

    try:
        spawn(fails_soon(), name="soon")
        spawn(fails_when_cancelled(), name="cleanup")
        result = await shutdown_spawned(timeout=0.1)
        await iterations(5)
        gc.collect()
        await iterations(2)
    finally:
        loop.set_exception_handler(previous)
    assert result.cancelled == ("cleanup",)
    assert sorted(c["task"].get_name() for c in seen) == ["cleanup", "soon"]
    assert all("taskwise.spawn()" in c["message"] for c in seen)


async def test_a_spawned_task_may_shut_down_the_others_without_waiting_for_itself() -> None:
    log: list[str] = []

    async def stopper() -> ShutdownResult:
        spawn(slow(log, "job"))
        return await shutdown_spawned(timeout=5)

    result = await spawn(stopper())
    assert result.cancelled == ()
    assert log == ["job done"]


async def test_nothing_spawned_returns_at_once() -> None:
    assert (await shutdown_spawned()).cancelled == ()
    assert (await shutdown_spawned(timeout=0)).cancelled == ()


@pytest.mark.parametrize("timeout", [-1, float("nan"), "5", True])
async def test_a_bad_timeout_is_refused(timeout: Any) -> None:
    with pytest.raises(ValueError, match=r"timeout=\) takes a number of seconds, 0 or more"):
        await shutdown_spawned(timeout=timeout)


# --- recipes: docs/spawn.md shows these ---------------------------------------------------


def test_recipe_asyncio_run() -> None:
    log: list[str] = []

    async def main() -> None:
        try:
            spawn(slow(log, "send-email", 0.05))
        finally:
            result = await shutdown_spawned(timeout=5)
            log.append(str(result))

    asyncio.run(main())
    assert log == ["send-email done", "every spawned task finished"]


def test_without_the_recipe_asyncio_run_cancels_the_job_silently() -> None:
    """Why the recipe: asyncio.run() cancels what is still running, and says nothing."""
    log: list[str] = []

    async def main() -> None:
        spawn(slow(log, "send-email", 0.05))

    asyncio.run(main())
    assert log == ["send-email cancelled: "]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_recipe_aiohttp_on_shutdown() -> None:
    aiohttp = pytest.importorskip("aiohttp")
    from aiohttp import web

    done: list[int] = []
    shutdown: list[str] = []

    async def record(n: int) -> None:
        await asyncio.sleep(0.05)
        done.append(n)

    async def handle(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        spawn(record(n), name=f"record-{n}")  # fire and forget: answer at once
        return web.Response(text="accepted")

    async def on_shutdown(app: web.Application) -> None:
        shutdown.append(str(await shutdown_spawned(timeout=5)))

    app = web.Application()
    app.router.add_get("/job/{n}", handle)
    app.on_shutdown.append(on_shutdown)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as session:
            for n in range(10):  # a bounded request loop
                async with session.get(f"http://127.0.0.1:{port}/job/{n}") as resp:
                    assert await resp.text() == "accepted"
    finally:
        await runner.cleanup()  # runs on_shutdown
    assert sorted(done) == list(range(10))
    assert shutdown == ["every spawned task finished"]


async def test_recipe_starlette_lifespan() -> None:
    pytest.importorskip("starlette")
    httpx = pytest.importorskip("httpx")
    uvicorn = pytest.importorskip("uvicorn")
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    done: list[int] = []
    shutdown: list[str] = []

    async def record(n: int) -> None:
        await asyncio.sleep(0.05)
        done.append(n)

    async def handle(request: Request) -> PlainTextResponse:
        n = int(request.path_params["n"])
        spawn(record(n), name=f"record-{n}")
        return PlainTextResponse("accepted")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        shutdown.append(str(await shutdown_spawned(timeout=5)))

    app = Starlette(routes=[Route("/job/{n:int}", handle)], lifespan=lifespan)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve())
    try:
        for _ in range(200):  # bounded wait for the server to start
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for n in range(10):  # a bounded request loop
                assert (await client.get(f"/job/{n}")).text == "accepted"
    finally:
        server.should_exit = True
        await serving
    assert sorted(done) == list(range(10))
    assert shutdown == ["every spawned task finished"]


# --- bad input: not on asyncio -----------------------------------------------------------


def test_under_trio_spawn_and_taskgroup_say_taskwise_needs_asyncio() -> None:
    trio = pytest.importorskip("trio")

    async def job() -> None:
        pass

    async def main() -> list[str]:
        messages = []
        coro = job()
        with pytest.raises(RuntimeError) as spawn_error:
            spawn(coro)
        assert coro.cr_frame is None  # closed
        messages.append(str(spawn_error.value))
        with pytest.raises(RuntimeError) as group_error:
            async with TaskGroup("g"):
                pass
        messages.append(str(group_error.value))
        return messages

    for message in trio.run(main):
        assert "needs asyncio, but this code runs under trio" in message
        assert "backend='asyncio'" in message
