"""taskwise.observe: counters, listeners, the task tree, the watchdog, logging, hotspots."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import taskwise.observe as observe
from taskwise import TaskGroup, shutdown_spawned, spawn, spawned_tasks

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def observed() -> Iterator[None]:
    """Each test starts with observation on and fresh counters, and leaves it off."""
    observe.disable()
    observe.enable()
    try:
        yield
    finally:
        observe.disable()


async def iterations(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def boom() -> None:
    raise ValueError("boom")


def quiet_loop() -> None:
    """Failures are expected here: keep them away from the test runner's handler."""
    asyncio.get_running_loop().set_exception_handler(lambda _l, _c: None)


# --- counters ------------------------------------------------------------------------------


async def test_spawned_tasks_are_counted_by_outcome() -> None:
    quiet_loop()
    for _ in range(5):
        spawn(asyncio.sleep(0))
    spawn(boom())
    slow = spawn(asyncio.sleep(10))
    await iterations(5)
    stats = observe.snapshot()[""]
    assert (stats.ok, stats.failed, stats.cancelled, stats.running) == (5, 1, 0, 1)
    slow.cancel()
    await iterations(5)
    stats = observe.snapshot()[""]
    assert (stats.spawned, stats.ok, stats.failed, stats.cancelled, stats.running) == (
        7,
        5,
        1,
        1,
        0,
    )
    assert sum(count for _, count in stats.buckets) == 7
    assert stats.buckets[-1][0] == float("inf")


async def test_eager_first_steps_are_counted_too(loop_kind: str) -> None:
    async def instant() -> int:
        return 1

    for _ in range(3):
        spawn(instant(), eager=True)
    await iterations(5)
    assert observe.snapshot()[""].ok == 3


async def test_group_children_count_under_the_groups_path() -> None:
    quiet_loop()
    with pytest.raises(Exception, match="unhandled errors in a TaskGroup"):
        async with TaskGroup("crawl") as tg:
            tg.spawn(asyncio.sleep(0))
            async with TaskGroup("pages") as inner:
                inner.spawn(asyncio.sleep(0.01))
            tg.spawn(asyncio.sleep(10))
            tg.spawn(boom())
    # Right after the block, with no loop iteration since: every child is counted.
    stats = observe.snapshot()
    crawl, pages = stats["crawl"], stats["crawl/pages"]
    assert (crawl.ok, crawl.failed, crawl.cancelled) == (1, 1, 1)
    assert (pages.ok, pages.running) == (1, 0)
    assert pages.slowest >= 0.009  # measured in loop time, at iteration boundaries


async def test_tasks_spawned_inside_a_group_count_under_its_path() -> None:
    async with TaskGroup("server"):
        spawn(asyncio.sleep(0))
    await iterations(5)
    assert observe.snapshot()["server"].ok == 1


async def test_spawn_reads_group_paths_only_while_a_named_group_runs() -> None:
    from taskwise._core import _hooks

    assert _hooks.spawn_hooks == 0  # observed, but no named group's block runs
    async with TaskGroup("server") as tg:
        assert _hooks.spawn_hooks == _hooks.PATHS
        async with TaskGroup("inner"):
            pass
        assert _hooks.spawn_hooks == _hooks.PATHS  # the outer block still runs
        tg.spawn(asyncio.sleep(0))
        spawn(instant())
    assert _hooks.spawn_hooks == 0
    with pytest.raises(Exception, match="unhandled errors in a TaskGroup"):
        async with TaskGroup("failing"):
            await boom()
    assert _hooks.spawn_hooks == 0  # a block left by an error counts as left too
    await iterations(5)
    stats = observe.snapshot()
    assert (stats["server"].ok, stats["server"].spawned) == (2, 2)


async def test_nothing_is_counted_while_observation_is_off() -> None:
    observe.disable()
    assert not observe.is_enabled()
    spawn(asyncio.sleep(0))
    async with TaskGroup("g") as tg:
        tg.spawn(asyncio.sleep(0))
    await iterations(5)
    assert observe.snapshot() == {}
    observe.enable()
    observe.enable()  # twice: harmless
    assert observe.is_enabled()
    spawn(asyncio.sleep(0))
    await iterations(4)
    async with TaskGroup("g"):
        held = spawn(asyncio.sleep(10))  # kept by group path while observed
    observe.disable()  # lets go of what it kept per task
    keeper = asyncio.get_running_loop()._taskwise_keeper  # type: ignore[attr-defined]
    assert keeper.paths == {}
    held.cancel()
    observe.enable()  # after disable(): afresh
    assert observe.snapshot() == {}
    spawn(asyncio.sleep(0))
    await iterations(4)
    assert observe.snapshot()[""].ok == 1


# --- counters by coroutine ---------------------------------------------------------------


class Crawler:
    async def fetch(self, n: int) -> int:
        await asyncio.sleep(0)
        return n


async def instant() -> None:
    pass


async def test_counts_are_split_by_coroutine_whatever_the_tasks_are_named() -> None:
    quiet_loop()
    crawler = Crawler()
    for n in range(3):
        spawn(crawler.fetch(n))  # named "Crawler.fetch"
    spawn(crawler.fetch(9), name="fetch-nine")  # named by hand: still Crawler.fetch
    spawn(boom(), name="Crawler.fetch")  # named after another coroutine: counted as boom
    spawn(instant(), name="req-17")
    async with TaskGroup("crawl") as tg:
        for n in range(4):
            tg.spawn(crawler.fetch(n))  # "crawl/Crawler.fetch-1", ...
        tg.spawn(instant(), name="page-1")
    await iterations(5)
    stats = observe.snapshot_by_coroutine()
    assert set(stats) == {
        ("", "Crawler.fetch"),
        ("", "boom"),
        ("", "instant"),
        ("crawl", "Crawler.fetch"),
        ("crawl", "instant"),
    }
    assert (stats["", "Crawler.fetch"].ok, stats["", "Crawler.fetch"].failed) == (4, 0)
    assert (stats["", "boom"].failed, stats["", "boom"].spawned) == (1, 1)
    assert stats["crawl", "Crawler.fetch"].ok == 4
    row = stats["crawl", "instant"]
    assert (row.path, row.coroutine, row.spawned, row.running) == ("crawl", "instant", 1, 0)
    # snapshot() adds the coroutines of a path up, as before.
    by_path = observe.snapshot()
    assert (by_path[""].ok, by_path[""].failed) == (5, 1)
    assert by_path["crawl"].ok == 5
    assert sum(c for _, c in by_path["crawl"].buckets) == 5


async def test_a_mixed_batch_with_failures_and_cancellations_is_split_exactly() -> None:
    quiet_loop()
    async with TaskGroup("server"):
        spawn(instant())
        spawn(boom())
        victim = spawn(asyncio.sleep(10))
        spawn(Crawler().fetch(1))
        await asyncio.sleep(0)
        victim.cancel()
    await iterations(6)
    stats = observe.snapshot_by_coroutine()
    assert stats["server", "instant"].ok == 1
    assert stats["server", "boom"].failed == 1
    assert stats["server", "sleep"].cancelled == 1
    assert stats["server", "Crawler.fetch"].ok == 1


async def test_a_batch_with_a_task_cancelled_before_its_first_step_counts_it_cancelled() -> None:
    for _ in range(3):
        spawn(instant())
    spawn(asyncio.sleep(0)).cancel()  # done, cancelled, in the same batch (even eagerly)
    await iterations(4)
    stats = observe.snapshot()[""]
    assert (stats.ok, stats.failed, stats.cancelled, stats.running) == (3, 0, 1, 0)


async def test_tasks_of_a_factorys_own_class_are_counted_like_asyncios() -> None:
    # Batches are read with asyncio.Task's own methods at C speed; tasks of another
    # class (here asyncio's pure-Python Task) fail that and are read one by one.
    py_task: Any = getattr(asyncio.tasks, "_PyTask", None)
    if py_task is None or py_task is asyncio.Task:  # pragma: no cover - no C tasks
        pytest.skip("asyncio's tasks are the pure-Python ones here")
    quiet_loop()
    loop = asyncio.get_running_loop()
    loop.set_task_factory(lambda loop, coro, **kw: py_task(coro, loop=loop, **kw))
    try:
        for _ in range(2):
            spawn(instant())
        spawn(boom())
        spawn(instant()).cancel()
    finally:
        loop.set_task_factory(None)
    spawn(instant())  # an asyncio.Task in the same batch
    await iterations(5)
    stats = observe.snapshot_by_coroutine()
    assert (stats["", "instant"].ok, stats["", "instant"].cancelled) == (3, 1)
    assert stats["", "boom"].failed == 1


async def test_running_tasks_count_under_their_coroutine() -> None:
    gate = asyncio.get_running_loop().create_future()
    spawn(parked_until(gate))
    async with TaskGroup("g") as tg:
        tg.spawn(parked_until(gate))
        await iterations(4)
        stats = observe.snapshot_by_coroutine()
        assert stats["", "parked_until"].running == 1
        assert stats["g", "parked_until"].running == 1
        gate.set_result(None)
    await iterations(4)
    assert observe.snapshot_by_coroutine()["", "parked_until"].ok == 1


async def parked_until(fut: asyncio.Future[None]) -> None:
    await fut


async def test_tasks_done_in_an_eager_first_step_keep_their_coroutine_name(
    loop_kind: str,
) -> None:
    # Their coroutine is gone from the task (and get_coro() crashes 3.12.1 for them).
    quiet_loop()
    spawn(instant(), eager=True)
    spawn(boom(), eager=True, name="eager-boom")
    async with TaskGroup("eager") as tg:
        tg.spawn(instant())
    await iterations(5)
    stats = observe.snapshot_by_coroutine()
    assert stats["", "instant"].ok == 1
    assert stats["", "boom"].failed == 1
    assert stats["eager", "instant"].ok == 1


async def test_tasks_done_in_an_eager_first_step_are_counted_by_coroutine_and_outcome(
    loop_kind: str,
) -> None:
    # (Those that went well are counted by name alone: the tasks are let go at once.)
    quiet_loop()

    async def also_instant() -> None:
        pass

    async def quits() -> None:
        raise asyncio.CancelledError

    for _ in range(3):
        spawn(instant(), eager=True)
    spawn(also_instant(), eager=True)
    spawn(instant(), eager=True, name="named by hand")
    spawn(quits(), eager=True)
    spawn(boom(), eager=True)
    await iterations(4)
    stats = observe.snapshot_by_coroutine()
    name = "test_tasks_done_in_an_eager_first_step_are_counted_by_coroutine_and_outcome"
    assert stats["", "instant"].ok == 4
    assert stats["", f"{name}.<locals>.also_instant"].ok == 1
    assert stats["", f"{name}.<locals>.quits"].cancelled == 1
    assert stats["", "boom"].failed == 1


async def test_a_group_of_several_coroutines_counts_each_child_under_its_own(
    loop_kind: str,
) -> None:
    # The first child's coroutine is counted without reading each child's; a child of
    # another coroutine is counted apart, under its own, also when it finished in an
    # eager first step (under the eager factory, most of these do).
    quiet_loop()
    crawler = Crawler()
    with pytest.raises(Exception, match="unhandled errors in a TaskGroup"):
        async with TaskGroup("mixed") as tg:
            tg.spawn(instant())
            tg.spawn(instant(), name="by-hand")
            tg.spawn(crawler.fetch(1))
            tg.spawn(instant())  # the first coroutine again, after another one
            await iterations(3)
            tg.spawn(crawler.fetch(2), name="fetch-two")
            tg.spawn(parked_until(asyncio.get_running_loop().create_future()))
            await iterations(3)
            tg.spawn(boom())
    stats = observe.snapshot_by_coroutine()
    assert stats["mixed", "instant"].ok == 3
    assert stats["mixed", "Crawler.fetch"].ok == 2
    assert stats["mixed", "parked_until"].cancelled == 1
    assert stats["mixed", "boom"].failed == 1
    assert observe.snapshot()["mixed"].spawned == 7


async def test_children_of_one_coroutine_count_their_failures_and_cancellations() -> None:
    quiet_loop()
    loop = asyncio.get_running_loop()
    gate, failed = loop.create_future(), loop.create_future()
    failed.set_exception(ValueError("boom"))
    with pytest.raises(Exception, match="unhandled errors in a TaskGroup"):
        async with TaskGroup("one") as tg:
            for _ in range(3):
                tg.spawn(parked_until(gate))
            await iterations(2)
            gate.set_result(None)
            await iterations(2)
            tg.spawn(parked_until(loop.create_future()))
            tg.spawn(parked_until(loop.create_future()))
            await iterations(2)
            tg.spawn(parked_until(failed))  # the other two are cancelled
    row = observe.snapshot_by_coroutine()["one", "parked_until"]
    assert (row.ok, row.failed, row.cancelled, row.running) == (3, 1, 2, 0)


async def test_children_that_started_in_several_iterations_each_get_their_duration() -> None:
    # Children spawned in one loop iteration share a start time; a batch that holds
    # children of several iterations gives each its own duration.
    gate = asyncio.get_running_loop().create_future()
    async with TaskGroup("spread") as tg:
        tg.spawn(parked_until(gate))
        await asyncio.sleep(0.1)
        tg.spawn(parked_until(gate))
        await asyncio.sleep(0)
        gate.set_result(None)
    row = observe.snapshot()["spread"]
    assert row.ok == 2
    assert sum(count for _, count in row.buckets) == 2
    first, second = row.slowest, row.seconds - row.slowest
    assert first >= 0.09
    assert 0 <= second <= first - 0.09  # it started 0.1 s later, and ended with the first


def test_a_batch_of_starts_is_counted_with_each_duration_in_its_bucket() -> None:
    from taskwise._observe._observer import BOUNDS, PathCounters

    def bucket_counts(counters: PathCounters) -> dict[float, int]:
        return {bound: n for bound, n in zip(BOUNDS, counters.buckets, strict=True) if n}

    one_iteration = PathCounters()
    start = 100.0
    one_iteration.add_started([start] * 3, 100.002)  # one float object: one duration
    assert one_iteration.ok == 3
    assert one_iteration.slowest == pytest.approx(0.002)
    assert one_iteration.seconds == pytest.approx(0.006)
    assert bucket_counts(one_iteration) == {0.005: 3}

    near = PathCounters()
    near.add_started([100.0, 100.0, 100.001], 100.003)  # two starts, one bucket
    assert near.seconds == pytest.approx(0.003 + 0.003 + 0.002)
    assert bucket_counts(near) == {0.005: 3}

    spread = PathCounters()
    spread.add_started([99.0, 99.0, 99.95, 100.0], 100.0005)  # three buckets
    assert spread.slowest == pytest.approx(1.0005)
    assert spread.seconds == pytest.approx(1.0005 * 2 + 0.0505 + 0.0005)
    assert bucket_counts(spread) == {0.001: 1, 0.1: 1, 5.0: 2}


async def test_children_spawned_before_observation_count_from_the_groups_entry() -> None:
    observe.disable()
    gate = asyncio.get_running_loop().create_future()
    async with TaskGroup("late") as tg:
        tg.spawn(parked_until(gate))
        tg.spawn(Crawler().fetch(1))
        await asyncio.sleep(0.05)
        observe.enable()
        tg.spawn(instant())  # the first coroutine observation sees
        gate.set_result(None)
    stats = observe.snapshot_by_coroutine()
    assert stats["late", "parked_until"].ok == 1
    assert stats["late", "parked_until"].slowest >= 0.04  # since the group's entry
    assert stats["late", "instant"].ok == 1
    assert ("late", "Crawler.fetch") not in stats  # it finished before enable()


async def test_a_listener_hears_every_child_of_a_group() -> None:
    quiet_loop()
    recorder = Recorder()
    observe.add_listener(recorder)
    with pytest.raises(Exception, match="unhandled errors in a TaskGroup"):
        async with TaskGroup("g") as tg:
            tg.spawn(instant(), name="a")
            tg.spawn(instant(), name="b")
            await iterations(2)
            tg.spawn(Crawler().fetch(1), name="c")
            await iterations(2)
            tg.spawn(boom(), name="d")
    finished = sorted(name for kind, name, *_ in recorder.events if kind == "finished")
    assert finished == ["g/a", "g/b", "g/c", "g/d"]
    assert ("failed", "g/d", "ValueError") in recorder.events


async def test_a_listener_added_while_a_group_runs_hears_its_children_from_then_on() -> None:
    gate = asyncio.get_running_loop().create_future()
    recorder = Recorder()
    async with TaskGroup("g") as tg:
        tg.spawn(instant(), name="before")
        await iterations(3)
        observe.add_listener(recorder)
        tg.spawn(parked_until(gate), name="after")
        await iterations(1)
        gate.set_result(None)
    assert [name for kind, name, *_ in recorder.events if kind == "finished"] == ["g/after"]


async def test_a_listener_is_told_of_a_childs_failure_only_with_the_child(
    loop_kind: str,
) -> None:
    # "a" fails and "b" goes well in one iteration; the listener comes in between their
    # done-callbacks, so it hears of "b" and not of "a": not of its failure either.
    quiet_loop()
    observe.enable()
    recorder = Recorder()
    with pytest.raises(Exception, match="unhandled errors in a TaskGroup"):
        async with TaskGroup("g") as tg:
            failing = tg.spawn(boom(), name="a")
            failing.add_done_callback(lambda _: observe.add_listener(recorder))
            tg.spawn(instant(), name="b")
    await iterations(3)
    assert [event[:2] for event in recorder.events] == [("finished", "g/b")]


def test_a_task_whose_coroutine_cannot_be_told_is_counted_as_unknown() -> None:
    from taskwise._observe._observer import coroutine_name, coroutine_names

    class Odd:
        _coro = object()  # no __qualname__ of its own: its type's

    class Bare:
        pass

    assert coroutine_name(Odd()) == "object"  # type: ignore[arg-type]
    assert coroutine_name(Bare()) == "<unknown>"  # type: ignore[arg-type]
    assert coroutine_names([Bare(), Odd()]) == ["<unknown>", "object"]  # type: ignore[list-item]


def test_counts_outlive_their_loop() -> None:
    # asyncio.run() closes its loop; once the loop and its keeper are collected, what was
    # counted on them must still be there for a snapshot or an exporter's collection.
    import gc

    async def main() -> None:
        spawn(instant())
        async with TaskGroup("crawl") as tg:
            tg.spawn(instant())
        await iterations(3)

    for _ in range(2):
        asyncio.run(main())
        gc.collect()
        observe.enable()  # (a second call on: counting goes on)
    stats = observe.snapshot()
    assert (stats[""].ok, stats["crawl"].ok, stats["crawl"].running) == (2, 2, 0)
    by_coroutine = observe.snapshot_by_coroutine()
    assert by_coroutine["crawl", "instant"].spawned == 2
    observe.disable()
    observe.enable()
    assert observe.snapshot() == {}  # disable() drops them, those of loops gone too


async def test_enabling_again_after_disable_counts_afresh_on_the_same_loop() -> None:
    spawn(instant())
    await iterations(4)
    assert observe.snapshot()[""].ok == 1
    observe.disable()
    observe.enable()
    assert observe.snapshot() == {}
    async with TaskGroup("again"):
        spawn(instant())
    await iterations(4)
    assert observe.snapshot_by_coroutine()["again", "instant"].ok == 1
    assert "" not in observe.snapshot()


def test_bad_hotspot_rates_are_refused() -> None:
    with pytest.raises(ValueError, match=r"from 0 \(off\) to 1.*pass 0\.01"):
        observe.enable(hotspots=5)
    with pytest.raises(TypeError, match="takes a share from 0 to 1"):
        observe.enable(hotspots="1%")  # type: ignore[arg-type]


# --- listeners -----------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def tasks_finished(self, tasks: list[asyncio.Task[Any]]) -> None:
        self.events.extend(("finished", t.get_name()) for t in tasks)

    def task_failed(self, task: asyncio.Task[Any], exception: BaseException) -> None:
        self.events.append(("failed", task.get_name(), type(exception).__name__))

    def task_cancelled(self, task: asyncio.Task[Any], cause: str) -> None:
        self.events.append(("cancelled", task.get_name(), cause))

    def group_cancelled(self, path: str, cause: str) -> None:
        self.events.append(("group cancelled", path, cause))


async def test_a_listener_hears_batches_and_failures() -> None:
    quiet_loop()
    recorder = Recorder()
    observe.add_listener(recorder)
    observe.add_listener(recorder)  # once only
    spawn(asyncio.sleep(0), name="a")
    spawn(boom(), name="b")
    await iterations(5)
    observe.remove_listener(recorder)
    spawn(asyncio.sleep(0), name="unheard")
    await iterations(5)
    assert sorted(recorder.events) == [
        ("failed", "b", "ValueError"),
        ("finished", "a"),
        ("finished", "b"),
    ]


async def test_a_listener_hears_each_task_done_in_an_eager_first_step_once(
    loop_kind: str,
) -> None:
    # Under the eager factory, and with eager=True on 3.12+, these finish inside spawn():
    # those that went well reach the listener by a path of their own.
    quiet_loop()
    recorder = Recorder()
    observe.add_listener(recorder)
    try:
        spawn(instant(), name="ok-1")
        spawn(instant(), eager=True, name="ok-2")
        spawn(boom(), eager=True, name="bad")
        await iterations(5)
    finally:
        observe.remove_listener(recorder)
    assert sorted(recorder.events) == [
        ("failed", "bad", "ValueError"),
        ("finished", "bad"),
        ("finished", "ok-1"),
        ("finished", "ok-2"),
    ]
    stats = observe.snapshot_by_coroutine()
    assert (stats["", "instant"].ok, stats["", "boom"].failed) == (2, 1)


async def test_a_listener_that_raises_is_removed_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def tasks_finished(self, tasks: list[asyncio.Task[Any]]) -> None:
            raise RuntimeError("listener bug")

    recorder = Recorder()
    observe.add_listener(Broken())
    observe.add_listener(recorder)
    with caplog.at_level(logging.ERROR, logger="taskwise.observe"):
        spawn(asyncio.sleep(0), name="first")
        await iterations(5)
        spawn(asyncio.sleep(0), name="second")
        await iterations(5)
    assert [r.getMessage() for r in caplog.records] == [
        caplog.records[0].getMessage()
    ]  # logged once: removed after the first error
    assert "raised in tasks_finished(); it was removed" in caplog.records[0].getMessage()
    assert ("finished", "second") in recorder.events  # the loop and the others go on


def test_a_listener_without_any_known_method_is_refused() -> None:
    with pytest.raises(TypeError, match=r"at least one of the methods tasks_finished\(\)"):
        observe.add_listener(object())


def test_a_listener_class_instead_of_an_instance_is_refused() -> None:
    with pytest.raises(TypeError, match=r"the class Recorder itself.*add_listener\(Recorder\(\)\)"):
        observe.add_listener(Recorder)


class ReadsExceptions:
    """A listener with a classic mistake: exception() raises CancelledError for a cancelled task."""

    def tasks_finished(self, tasks: list[asyncio.Task[Any]]) -> None:
        for task in tasks:
            task.exception()


async def test_a_listener_raising_cancelled_error_is_removed_and_the_keeper_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Raised inside the keeper's tick, it must not end the tick half-way: the tasks
    # spawned beside the cancelled one are still kept, and shutdown still waits for them.
    listener = ReadsExceptions()
    observe.add_listener(listener)
    done: list[int] = []

    async def gives_up() -> None:
        await iterations(2)
        raise asyncio.CancelledError  # ends cancelled, as when an awaited task was

    async def slow() -> None:
        await asyncio.sleep(0.01)
        done.append(1)

    with caplog.at_level(logging.ERROR, logger="taskwise.observe"):
        spawn(gives_up())
        await asyncio.sleep(0)
        for _ in range(3):
            spawn(slow())
        await iterations(4)
        assert len(spawned_tasks()) == 3
        await shutdown_spawned(timeout=5)
    assert done == [1, 1, 1]
    assert listener not in observe._hooks.observer.listeners  # type: ignore[union-attr]
    (record,) = caplog.records
    assert "raised in tasks_finished(); it was removed" in record.getMessage()


async def test_a_listener_raising_cancelled_error_does_not_change_a_group() -> None:
    # (Told from a group's done-callback: a cancelled child must not turn into a
    # CancelledError out of the group's block.)
    logging.getLogger("taskwise.observe").disabled = True
    try:
        observe.add_listener(ReadsExceptions())
        async with TaskGroup("g") as tg:
            child = tg.spawn(asyncio.sleep(10), name="nap")
            await asyncio.sleep(0)
            child.cancel()
    finally:
        logging.getLogger("taskwise.observe").disabled = False
    assert child.cancelled()


def test_a_listener_that_raises_in_several_loops_at_once_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    both_inside = threading.Barrier(2, timeout=10)

    class Broken:
        def tasks_finished(self, tasks: list[asyncio.Task[Any]]) -> None:
            both_inside.wait()  # each loop's keeper is in here at the same time
            raise RuntimeError("listener bug")

    observe.add_listener(Broken())

    async def main() -> None:
        spawn(asyncio.sleep(0))
        await iterations(5)

    with caplog.at_level(logging.ERROR, logger="taskwise.observe"):
        threads = [threading.Thread(target=asyncio.run, args=(main(),)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(caplog.records) == 1


# --- the task tree -------------------------------------------------------------------------


async def parked(fut: asyncio.Future[None]) -> None:
    await fut  # the line the tree must point at


async def test_the_tree_shows_spawned_tasks_and_nested_groups_with_where_they_wait() -> None:
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    spawn(parked(fut), name="worker")
    async with TaskGroup("crawl") as tg:
        tg.spawn(parked(fut), name="page-1")
        async with TaskGroup("inner") as inner:
            inner.spawn(parked(fut), name="deep")
            await iterations(3)
            tree = observe.task_tree(where=True)
            fut.set_result(None)
    names = sorted(node.name for node in tree.walk())
    assert names == ["crawl/inner/deep", "crawl/page-1", "worker"]
    (group,) = tree.groups
    assert group.path == "crawl"
    assert [g.path for g in group.groups] == ["crawl/inner"]
    line = parked.__code__.co_firstlineno + 1
    assert all(node.where == f"{__file__}:{line}" for node in tree.walk())
    text = str(tree)
    assert "group crawl [1 task" in text
    assert "    group crawl/inner [1 task" in text
    assert "worker [running, " in text
    assert f"parked() at {__file__}:{line}" in text


async def test_unnamed_groups_hang_under_the_group_or_task_they_were_entered_in() -> None:
    # An unnamed group has its enclosing group's path: paths cannot tell where it hangs.
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def worker() -> None:
        async with TaskGroup() as inside_a_task:
            inside_a_task.spawn(parked(fut), name="deep")

    async with TaskGroup("outer") as tg:
        tg.spawn(worker(), name="w")
        async with TaskGroup() as in_the_body:
            in_the_body.spawn(parked(fut), name="beside")
            await iterations(3)
            tree = observe.task_tree()
            fut.set_result(None)
    (outer,) = tree.groups
    (body_group,) = outer.groups
    assert [task.name for task in body_group.tasks] == ["outer/beside"]
    (worker_node,) = outer.tasks
    (task_group,) = worker_node.groups
    assert [task.name for task in task_group.tasks] == ["outer/deep"]


async def test_the_age_of_a_group_child_started_while_unobserved_is_unknown() -> None:
    observe.disable()  # (a group notes when each child starts only while observed)
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    async with TaskGroup("crawl") as tg:
        tg.spawn(parked(fut), name="page")
        await iterations(3)
        tree = observe.task_tree()
        fut.set_result(None)
    (page,) = tree.groups[0].tasks
    assert page.age is None
    assert "crawl/page [running] parked()" in str(tree)


async def test_a_task_that_has_not_started_waits_nowhere_yet() -> None:
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task = spawn(parked(fut), name="new")
    (node,) = observe.task_tree(where=True).spawned
    await asyncio.sleep(0)  # its first step: now it waits in parked()
    (then,) = observe.task_tree(where=True).spawned
    fut.set_result(None)
    await task
    site = f"{__file__}:{parked.__code__.co_firstlineno + 1}"
    eager = asyncio.get_running_loop().get_task_factory() is not None  # it ran in spawn()
    assert node.where == (site if eager else None)  # not its `async def` line
    assert then.where == site


async def test_an_empty_tree_says_so() -> None:
    assert "(nothing running)" in str(observe.task_tree())


# --- the watchdog --------------------------------------------------------------------------


async def test_the_watchdog_flags_a_stuck_task_once_and_ignores_patterns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def moving() -> None:
        for _ in range(1000):  # polls: the same line each look, but a new sleep each time
            await asyncio.sleep(0.001)
            if fut.done():
                return

    recorder: list[tuple[str, str | None]] = []

    class Stuck:
        def task_stuck(self, task: asyncio.Task[Any], where: str | None, age: float) -> None:
            recorder.append((task.get_name(), where))

    observe.add_listener(Stuck())
    with caplog.at_level(logging.WARNING, logger="taskwise.watchdog"):
        async with observe.Watchdog(threshold=0.03, interval=0.01, ignore=["server/*"]) as dog:
            spawn(parked(fut), name="stuck")
            spawn(moving(), name="busy")
            async with TaskGroup("server") as tg:
                tg.spawn(parked(fut), name="accept-loop")
                await asyncio.sleep(0.2)
                fut.set_result(None)
    assert dog.stuck == ["stuck"]
    line = parked.__code__.co_firstlineno + 1
    assert recorder == [("stuck", f"{__file__}:{line}")]
    (record,) = caplog.records
    assert "'stuck'" in record.getMessage()
    assert f"still waiting at {__file__}:{line}" in record.getMessage()


async def test_the_watchdog_knows_group_paths_without_enable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    observe.disable()
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    with caplog.at_level(logging.WARNING, logger="taskwise.watchdog"):
        dog = observe.Watchdog(threshold=0.03, interval=0.01, ignore=["crawl"])
        async with dog, TaskGroup("crawl"):
            spawn(parked(fut), name="helper")  # spawned inside the group: path 'crawl'
            await asyncio.sleep(0.2)
            fut.set_result(None)
    assert dog.stuck == []
    assert caplog.records == []


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"threshold": -1}, ValueError, r"positive number of seconds"),
        ({"threshold": 10, "interval": 0}, ValueError, r"positive number of seconds"),
        ({"threshold": "10"}, TypeError, r"takes a number of seconds"),
        ({"threshold": float("nan")}, ValueError, r"positive number of seconds"),
        ({"threshold": 10, "ignore": "server/*"}, TypeError, r"wrap it: ignore=\['server/\*'\]"),
        ({"threshold": 10, "ignore": ["/server"]}, ValueError, r"can never match.*'server'"),
        ({"threshold": 10, "ignore": [""]}, ValueError, r"matches no path"),
    ],
)
def test_watchdog_arguments_that_cannot_work_are_refused(
    kwargs: dict[str, Any], error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error, match=pattern):
        observe.Watchdog(**kwargs)


async def test_the_watchdog_looks_at_many_tasks_in_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """A look lets the loop run between slices of work (here one task a slice)."""
    from taskwise._observe import _watchdog

    monkeypatch.setattr(_watchdog, "SLICE", 0.0)
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    for _ in range(300):
        spawn(parked(fut))
    await iterations(4)
    dog = observe.Watchdog(threshold=100)
    iterations_seen = 0

    async def count_iterations() -> None:
        nonlocal iterations_seen
        while True:
            await asyncio.sleep(0)
            iterations_seen += 1

    counter = spawn(count_iterations())
    await iterations(4)
    before = iterations_seen
    await dog.look()
    during = iterations_seen - before
    counter.cancel()
    fut.set_result(None)
    await shutdown_spawned()
    assert during >= 300, f"the loop ran {during} iterations during a look at 301 tasks"


# --- logging -------------------------------------------------------------------------------


async def test_the_filter_puts_task_name_and_group_path_on_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("test.observe.filter")
    log_filter = observe.TaskContextFilter()
    log.addFilter(log_filter)
    try:
        with caplog.at_level(logging.INFO, logger="test.observe.filter"):

            async def work() -> None:
                log.info("inside")

            async with TaskGroup("crawl") as tg:
                tg.spawn(work(), name="page")
            log.info("outside")
    finally:
        log.removeFilter(log_filter)
    inside, outside = caplog.records
    assert (inside.taskName, inside.group_path) == ("crawl/page", "crawl")  # type: ignore[attr-defined]
    assert outside.group_path == "-"  # type: ignore[attr-defined]
    assert outside.taskName == asyncio.current_task().get_name()  # type: ignore[union-attr]


async def test_the_filter_keeps_what_a_record_carries_from_the_thread_that_logged() -> None:
    # A QueueHandler setup: the filter runs in the loop's thread, then again in the
    # QueueListener's thread, where no task and no group runs.
    log_filter = observe.TaskContextFilter()
    async with TaskGroup("crawl"):
        record = logging.makeLogRecord({"msg": "inside"})
        log_filter.filter(record)
    await asyncio.to_thread(log_filter.filter, record)
    assert (record.taskName, record.group_path) == (  # type: ignore[attr-defined]
        asyncio.current_task().get_name(),  # type: ignore[union-attr]
        "crawl",
    )


# --- hotspots ------------------------------------------------------------------------------


async def test_hotspots_count_live_and_total_tasks_per_spawn_site() -> None:
    observe.enable(hotspots=1)
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    line = sys._getframe().f_lineno + 2
    for _ in range(4):
        spawn(parked(fut))
    await iterations(4)
    (top, *_) = observe.hotspots()
    assert (top.site, top.live, top.total) == (f"{__file__}:{line}", 4, 4)
    fut.set_result(None)
    await iterations(5)
    (top, *_) = observe.hotspots()
    assert (top.live, top.total) == (0, 4)


async def test_hotspots_see_every_site_of_a_fixed_cycle_of_sites() -> None:
    # Sampling every 100th spawn exactly would see one site of four, always the same.
    observe.enable(hotspots=0.01)
    first = sys._getframe().f_lineno + 2
    for _ in range(2000):
        spawn(asyncio.sleep(0))
        spawn(asyncio.sleep(0))
        spawn(asyncio.sleep(0))
        spawn(asyncio.sleep(0))
    await iterations(4)
    sites = {spot.site for spot in observe.hotspots()}
    assert sites == {f"{__file__}:{first + n}" for n in range(4)}


async def test_a_new_sampling_rate_leaves_the_estimates_made_at_the_old_one() -> None:
    observe.enable(hotspots=1)
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    for _ in range(10):
        spawn(parked(fut))
    await iterations(4)
    observe.enable(hotspots=0.01)
    (top,) = observe.hotspots()
    assert (top.live, top.total) == (10, 10)
    fut.set_result(None)
    await iterations(5)
    (top,) = observe.hotspots()
    assert (top.live, top.total) == (0, 10)


async def test_turning_sampling_off_and_on_around_a_sampled_task_loses_no_report() -> None:
    seen: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: seen.append(context))

    async def job() -> None:
        await asyncio.sleep(0.01)
        raise ValueError("reported")

    observe.disable()
    observe.enable(hotspots=1)
    spawn(job())  # the loop's first spawn under this observer: sampled
    observe.disable()
    observe.enable(hotspots=1)
    await asyncio.sleep(0.05)
    await iterations(4)
    assert [type(context.get("exception")) for context in seen] == [ValueError]
    assert "<locals>.job' failed" in seen[0]["message"]


def test_a_sampling_rate_too_small_to_sample_anything_is_refused() -> None:
    with pytest.raises(
        ValueError, match=r"fewer than one spawn\(\) call in 1,000,000,000.*at least 1e-09"
    ):
        observe.enable(hotspots=5e-324)


# --- names survive task factories that rename ---------------------------------------------


async def test_a_renaming_task_factory_does_not_erase_taskwises_name(loop_kind: str) -> None:
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def renaming(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        task.set_name(f"{coro.__qualname__} (wrapped)")
        return task

    def fixed(loop: asyncio.AbstractEventLoop, coro: Any) -> asyncio.Task[Any]:
        return asyncio.Task(coro, loop=loop)

    try:
        # uvloop itself always passes context= to a factory, so (loop, coro) ones fail there.
        for factory in (renaming,) if loop_kind == "uvloop" else (renaming, fixed):
            loop.set_task_factory(factory)  # type: ignore[arg-type]
            assert spawn(asyncio.sleep(0), name="job").get_name() == "job"
            async with TaskGroup("crawl") as tg:
                assert tg.spawn(asyncio.sleep(0), name="page-1").get_name() == "crawl/page-1"
    finally:
        loop.set_task_factory(previous)


# --- failure reports carry the group path --------------------------------------------------


async def test_a_report_names_the_group_path_it_was_spawned_in() -> None:
    seen: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _l, c: seen.append(c))
    async with TaskGroup("server"):
        spawn(boom(), name="handler")
    await iterations(5)
    (context,) = seen
    assert context["group_path"] == "server"


# --- cancellation causes -------------------------------------------------------------------


async def cancelled_message(log: list[str], name: str) -> None:
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError as exc:
        log.append(f"{name}: {exc.args[0] if exc.args else None}")
        raise


async def test_a_childs_failure_is_the_cause_its_siblings_and_the_body_see() -> None:
    recorder = Recorder()
    observe.add_listener(recorder)
    log: list[str] = []

    async def bad() -> None:
        await asyncio.sleep(0)
        raise ValueError("bad")

    with pytest.raises(Exception, match="unhandled errors"):
        async with TaskGroup("crawl") as tg:
            tg.spawn(cancelled_message(log, "sibling"), name="fetch-1")
            tg.spawn(bad(), name="parse")
            await cancelled_message(log, "body")
    cause = "its task 'crawl/parse' failed with ValueError"
    assert sorted(log) == [
        f"body: taskwise.TaskGroup: cancelling the group's body (TaskGroup 'crawl': {cause})",
        f"sibling: TaskGroup 'crawl' is cancelling its tasks: {cause}",
    ]
    assert ("group cancelled", "crawl", cause) in recorder.events
    assert (
        "cancelled",
        "crawl/fetch-1",
        f"TaskGroup 'crawl' is cancelling its tasks: {cause}",
    ) in recorder.events


async def test_cancel_says_where_it_was_called_from() -> None:
    log: list[str] = []
    async with TaskGroup("a") as tg:
        tg.spawn(cancelled_message(log, "child"))
        await asyncio.sleep(0)
        tg.cancel()
    async with TaskGroup("b") as tg:

        async def stopper() -> None:
            tg.cancel()

        tg.spawn(cancelled_message(log, "child"))
        tg.spawn(stopper(), name="stopper")
    async with TaskGroup() as tg:
        tg.spawn(cancelled_message(log, "child"))
        await asyncio.sleep(0)
        asyncio.get_running_loop().call_soon(tg.cancel)
        await asyncio.sleep(0.01)
    assert log == [
        "child: TaskGroup 'a' is cancelling its tasks: cancel() was called in its body",
        "child: TaskGroup 'b' is cancelling its tasks: cancel() was called by its task 'b/stopper'",
        "child: TaskGroup (unnamed) is cancelling its tasks: cancel() was called outside any task",
    ]


async def test_the_body_raising_and_an_outside_cancel_are_causes_too() -> None:
    log: list[str] = []
    with pytest.raises(Exception, match="unhandled errors"):  # ExceptionGroup([KeyError])
        async with TaskGroup("g") as tg:
            tg.spawn(cancelled_message(log, "child"))
            await asyncio.sleep(0)
            raise KeyError("body")

    async def runs_a_group() -> None:
        async with TaskGroup("h") as tg:
            tg.spawn(cancelled_message(log, "child"))
            await asyncio.sleep(10)

    outer = spawn(runs_a_group())
    await iterations(3)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert log == [
        "child: TaskGroup 'g' is cancelling its tasks: its body raised KeyError",
        "child: TaskGroup 'h' is cancelling its tasks: the task running its body was cancelled",
    ]


async def test_a_shutdown_timeout_is_a_cause_listeners_hear() -> None:
    recorder = Recorder()
    observe.add_listener(recorder)
    spawn(asyncio.sleep(10), name="poll")
    await shutdown_spawned(timeout=0.01)
    assert (
        "cancelled",
        "poll",
        "taskwise.shutdown_spawned(): still running after the 0.01 s timeout",
    ) in recorder.events


@pytest.mark.skipif(sys.platform == "win32", reason="signals: Unix")
async def test_a_signal_dumps_the_tree_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    import os
    import signal

    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    spawn(parked(fut), name="waiting-here")
    observe.dump_tree_on(signal.SIGUSR1)
    try:
        with caplog.at_level(logging.WARNING, logger="taskwise.watchdog"):
            os.kill(os.getpid(), signal.SIGUSR1)
            for _ in range(100):  # bounded: the handler runs on a coming iteration
                if caplog.records:
                    break
                await asyncio.sleep(0.01)
    finally:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
        fut.set_result(None)
    (record,) = caplog.records
    line = parked.__code__.co_firstlineno + 1
    assert "taskwise task tree" in record.getMessage()
    assert "waiting-here [running, " in record.getMessage()
    assert f"at {__file__}:{line}" in record.getMessage()


async def test_snapshot_from_another_thread_while_tasks_run() -> None:
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    for _ in range(50):
        spawn(parked(fut))
    await iterations(4)
    stats = await asyncio.to_thread(observe.snapshot)  # an exporter's thread
    assert stats[""].running == 50
    fut.set_result(None)
    await iterations(5)
    assert observe.snapshot()[""].running == 0


async def test_enable_again_changes_the_rate_and_keeps_the_counters() -> None:
    spawn(asyncio.sleep(0))
    await iterations(4)
    observe.enable(hotspots=1)
    for _ in range(10):
        spawn(asyncio.sleep(0))
    await iterations(4)
    assert observe.snapshot()[""].ok == 11
    (top,) = observe.hotspots()
    assert top.total == 10
