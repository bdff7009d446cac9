"""Honest reports: a failure is reported when nobody can read it any more, and only then.

The rule (docs/spawn.md): while the caller holds a spawned task, its failure is theirs,
however late they read it; a task that nobody but taskwise references is reported at once,
in its own context; a held task dropped unread is reported by asyncio, once, at the drop.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import sys

import pytest

from taskwise import spawn
from taskwise._core import _keeper
from test_spawn import boom, fail_later, iterations, reports  # the helpers of spawn()'s tests

pytestmark = pytest.mark.anyio

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


async def settle() -> None:
    """Let every look of the keeper happen, and drop what only cycles hold."""
    await iterations(10)
    gc.collect()
    await iterations(2)


# --- correct code never gets an ERROR ---------------------------------------------------


async def test_a_handle_awaited_after_other_work_is_never_reported() -> None:
    with reports() as seen:
        task = spawn(boom())
        await iterations(30)  # other work, long after the failure
        with pytest.raises(ValueError, match="boom"):
            await task
        del task
        await settle()
    assert seen == []


async def test_wait_on_a_slower_sibling_then_reading_each_result_is_never_reported() -> None:
    with reports() as seen:
        quick, slow = spawn(boom()), spawn(iterations(25))
        done, _ = await asyncio.wait([quick, slow])  # ALL_COMPLETED: long after quick failed
        errors = [t.exception() for t in done]
        del quick, slow, done
        await settle()
    assert sorted(type(e).__name__ for e in errors) == ["NoneType", "ValueError"]
    assert seen == []


async def test_handles_collected_and_gathered_later_are_never_reported() -> None:
    with reports() as seen:
        handles = [spawn(boom()), spawn(fail_later(2)), spawn(iterations(1))]
        await iterations(20)
        results = await asyncio.gather(*handles, return_exceptions=True)
        del handles
        await settle()
    assert [type(r).__name__ for r in results] == ["ValueError", "KeyError", "NoneType"]
    assert seen == []


async def test_a_done_callback_that_reads_the_failure_silences_it() -> None:
    read: list[BaseException | None] = []
    with reports() as seen:
        spawn(fail_later(1)).add_done_callback(lambda t: read.append(t.exception()))
        spawn(boom()).add_done_callback(lambda t: read.append(t.exception()))
        await settle()
    assert sorted(type(e).__name__ for e in read) == ["KeyError", "ValueError"]
    assert seen == []


async def test_cancellation_is_never_a_failure() -> None:
    with reports() as seen:
        held = spawn(asyncio.sleep(10))
        spawn(asyncio.sleep(10)).cancel()
        await iterations(2)
        held.cancel()
        await settle()
    assert seen == []


# --- what nobody can read is reported, once -------------------------------------------


async def test_a_done_callback_that_does_not_read_leaves_the_report_to_taskwise() -> None:
    with reports() as seen:
        spawn(boom(), name="noted").add_done_callback(lambda t: None)
        await settle()
    assert [c["task"].get_name() for c in seen] == ["noted"]
    assert "nobody can read its exception" in seen[0]["message"]


async def test_a_held_task_dropped_unread_is_reported_once_when_dropped() -> None:
    with reports() as seen:
        task = spawn(boom(), name="dropped")
        await iterations(30)
        assert seen == []  # held: the failure is the caller's
        del task  # CPython: asyncio reports at once, with the task
        assert [c["message"] for c in seen] == ["Task exception was never retrieved"]
        assert seen[0]["future"].get_name() == "dropped"
        await settle()
    assert len(seen) == 1


async def test_cancel_on_a_failed_task_marks_the_failure_handled() -> None:
    # asyncio's rule, kept (docs/spawn.md): cancel() on a finished task clears its
    # "not retrieved" flag; whoever holds the task has decided it is dealt with.
    with reports() as seen:
        task = spawn(boom())
        await iterations(3)
        assert task.cancel() is False
        del task
        await settle()
    assert seen == []


# --- what a report carries ---------------------------------------------------------------


async def in_request(name: str) -> None:
    request_id.set(name)
    raise ValueError(name)


async def test_a_report_runs_in_the_tasks_context() -> None:
    seen_ids: list[str] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _l, c: seen_ids.append(request_id.get()))
    try:
        token = request_id.set("set-by-caller")
        spawn(boom())
        request_id.reset(token)
        spawn(in_request("set-in-task"))
        await settle()
    finally:
        loop.set_exception_handler(previous)
    assert sorted(seen_ids) == ["set-by-caller", "set-in-task"]
    assert request_id.get() == "-"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


async def test_the_default_handler_logs_with_the_tasks_context_variables(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(None)  # asyncio's default handler: it logs
    asyncio_logger = logging.getLogger("asyncio")
    log_filter = RequestIdFilter()
    asyncio_logger.addFilter(log_filter)
    try:
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            spawn(in_request("req-42"), name="handler")
            await settle()
    finally:
        asyncio_logger.removeFilter(log_filter)
        loop.set_exception_handler(previous)
    (record,) = caplog.records
    assert record.request_id == "req-42"  # type: ignore[attr-defined]
    assert "Task 'handler' failed" in record.getMessage()


@pytest.mark.parametrize("eager", [False, True], ids=["lazy", "eager"])
async def test_in_debug_mode_the_report_points_at_the_spawn_call(eager: bool) -> None:
    # (eager=True starts the task through another path on 3.12+.)
    loop = asyncio.get_running_loop()
    debug = loop.get_debug()
    loop.set_debug(True)
    try:
        with reports() as seen:
            line = _this_line() + 1
            spawn(boom(), eager=eager)  # the line the report must name
            await settle()
    finally:
        loop.set_debug(debug)
    (context,) = seen
    assert f"started by taskwise.spawn() at {__file__}:{line}" in context["message"]
    source = context["source_traceback"]  # not taskwise's internals, nor the keeper's tick
    assert (source[-1].filename, source[-1].lineno) == (__file__, line)


def _this_line() -> int:
    return sys._getframe(1).f_lineno


# --- without reference counts: the fallback ----------------------------------------------


@pytest.fixture
def no_refcounts(monkeypatch: pytest.MonkeyPatch) -> None:
    """An interpreter whose reference counts cannot tell (not CPython)."""
    monkeypatch.setattr(_keeper, "_getrefcount", None)


@pytest.mark.usefixtures("no_refcounts")
async def test_without_refcounts_an_unread_failure_is_reported_after_three_ticks() -> None:
    with reports() as seen:
        task = spawn(boom(), name="unread")
        await settle()
        assert [c["task"].get_name() for c in seen] == ["unread"]
        assert "within three loop iterations" in seen[0]["message"]
        with pytest.raises(ValueError):
            await task  # still delivered to a late reader
        del task
        await settle()
    assert len(seen) == 1


@pytest.mark.usefixtures("no_refcounts")
async def test_without_refcounts_a_prompt_reader_silences_the_report() -> None:
    with reports() as seen:
        task = spawn(boom())
        await asyncio.sleep(0)
        with pytest.raises(ValueError):
            await task
        await settle()
    assert seen == []
