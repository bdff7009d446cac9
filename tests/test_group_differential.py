"""A differential test of TaskGroup: small random group programs, run and compared.

Hypothesis writes programs in a tiny language: a group's body sleeps, fails,
blocks, spawns children (which do the same, spawn grandchildren, cancel their
group), nests groups, cancels its own task, calls ``tg.cancel()``, catches
cancellations (to swallow them, re-raise them after a cleanup step, or turn
them into errors) and errors, and enters ``asyncio.timeout(0)`` (3.11+). A
driver task acts from outside at chosen loop iterations: it cancels the task
running the group, or calls ``tg.cancel()``. Nothing depends on the clock: a
"block" waits until the driver releases it, after ``RELEASE_AT`` iterations.

Every run records a trace: each loop iteration, each operation as it starts,
each caught cancellation, how each child and each group ends, what the block
raises and whether the next await after it is cancelled. (Within one iteration
the events are compared as a set: groups cancel their children in a set's
order, asyncio's too.) Three checks:

* ``test_same_as_asyncio``: where asyncio's own TaskGroup is meant to agree
  (3.13+, programs without ``tg.cancel()``, which asyncio only gains in 3.15),
  taskwise produces the same trace, event for event and loop iteration for
  loop iteration. The installed 3.13 is 3.13.0, whose TaskGroup does not yet
  register children that finish in their eager first step (gh-128550,
  gh-128588; taskwise does, as CPython main does): under the eager task
  factory every child therefore awaits once before anything else here, and
  ``tests/test_group_regressions.py`` covers the eager case (1d).
* ``test_invariants``, on every Python and loop: no error is lost, no child
  is still pending when its group exits, a group with nothing left to wait for
  exits without a loop iteration (but on 3.10-3.12 to take back a ``cancel()``
  still pending), no cancellation is invented, an outside cancellation is never
  lost, and (3.11+) ``cancelling()`` after the group counts exactly the outside
  cancellations.
* ``test_310_same_as_311`` (3.10 only): 3.10 tasks have no cancellation
  counter, and the groups tell their own cancellations from others' by a
  message. The same program runs again with tasks that count like 3.11's
  (a pure-Python Task with ``cancelling()``/``uncancel()``) and the group
  switched to the 3.11+ bookkeeping: the traces must be the same. 3.10 has no
  ``asyncio.timeout()``; and a swallowed outside cancellation has no 3.10
  meaning (3.11+ code must ``uncancel()`` to say it handled one, 3.10 code just
  swallows it), so programs that swallow one are not compared.

The examples are derandomized (the same programs on every run), bounded in
number, and without deadlines, so that the suite stays deterministic and takes
a few seconds per Python.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import taskwise._core._group as group_module
from taskwise import TaskGroup

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop has no Windows build
    uvloop = None

HAS_COUNTER = hasattr(asyncio.Task, "uncancel")  # 3.11+
HAS_TIMEOUT = hasattr(asyncio, "timeout")  # 3.11+


def _uncancel_clears_pending() -> bool:
    """Whether uncancel() drops a cancellation that has not reached the task (3.13+)."""

    async def probe() -> bool:
        task: Any = asyncio.current_task()
        task.cancel()
        task.uncancel()
        clears = not task._must_cancel
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0)  # 3.11/3.12: it strikes here
        return clears

    return HAS_COUNTER and asyncio.run(probe())


UNCANCEL_CLEARS_PENDING = _uncancel_clears_pending()
RELEASE_AT = 30  # the loop iteration at which every "block" ends
MAX_ITERATIONS = 300  # far more than any program needs; a run that takes more hangs
# TASKWISE_FUZZ_EXAMPLES=N runs N random (not derandomized) examples per test instead:
# a longer hunt, by hand. The suite runs the same EXAMPLES programs every time.
FUZZ = int(os.environ.get("TASKWISE_FUZZ_EXAMPLES", "0"))
EXAMPLES = FUZZ or 120  # per test and loop flavour

SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not FUZZ,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# --- The language --------------------------------------------------------------------


@dataclass(frozen=True)
class Sleep:
    """``await asyncio.sleep(0)``, *steps* times (0: nothing)."""

    steps: int


@dataclass(frozen=True)
class Raise:
    """Raise an error, named after where it is raised."""


@dataclass(frozen=True)
class Block:
    """Wait until the driver releases every block (a long wait that ends by itself)."""


@dataclass(frozen=True)
class CancelTask:
    """Cancel the task that runs the outermost group: a cancellation from outside."""


@dataclass(frozen=True)
class CancelGroup:
    """``tg.cancel()`` on the group this code runs in (taskwise only)."""


@dataclass(frozen=True)
class Spawn:
    """Spawn a child (into the group this code runs in) that runs *ops*."""

    ops: tuple[Op, ...]


@dataclass(frozen=True)
class Nested:
    """A group inside the body, with its own body."""

    body: tuple[Op, ...]


@dataclass(frozen=True)
class Guard:
    """Run *ops*; on CancelledError "swallow" it, "reraise" it after a cleanup step,
    or "convert" it into an error."""

    ops: tuple[Op, ...]
    on_cancel: str


@dataclass(frozen=True)
class Catch:
    """Run *ops*; catch any error (an ExceptionGroup too) and carry on."""

    ops: tuple[Op, ...]


@dataclass(frozen=True)
class Timeout:
    """Run *ops* in ``asyncio.timeout(0)`` (expires at the next loop iteration); a
    TimeoutError becomes an error named after the timeout."""

    ops: tuple[Op, ...]


Op = Sleep | Raise | Block | CancelTask | CancelGroup | Spawn | Nested | Guard | Catch | Timeout


@dataclass(frozen=True)
class Program:
    body: tuple[Op, ...]
    # (loop iteration, "cancel task" or "cancel group"), done by the driver
    outside: tuple[tuple[int, str], ...] = ()


# --- Programs, as Hypothesis draws them ----------------------------------------------

ON_CANCEL = st.sampled_from(["swallow", "reraise", "convert"])


def leaves(cancel: bool) -> list[st.SearchStrategy[Op]]:
    found: list[st.SearchStrategy[Op]] = [
        st.builds(Sleep, st.integers(0, 2)),  # 0: a step that does not suspend
        st.just(Raise()),
        st.just(Block()),
        st.just(CancelTask()),
    ]
    if cancel:
        found.append(st.just(CancelGroup()))
    return found


def child_ops(depth: int, cancel: bool) -> st.SearchStrategy[tuple[Op, ...]]:
    options = [*leaves(cancel), st.just(Raise())]  # children fail often
    if depth > 0:
        inner = child_ops(depth - 1, cancel)
        options += [st.builds(Spawn, inner), st.builds(Guard, inner, ON_CANCEL)]
    return st.lists(st.one_of(options), min_size=1, max_size=3).map(tuple)


def body_ops(depth: int, cancel: bool, timeout: bool) -> st.SearchStrategy[tuple[Op, ...]]:
    spawn = st.builds(Spawn, child_ops(1, cancel))
    options = [*leaves(cancel), spawn, spawn]  # children are what groups are for
    if depth > 0:
        inner = body_ops(depth - 1, cancel, timeout)
        guard = st.builds(Guard, inner, ON_CANCEL)
        options += [st.builds(Nested, inner), guard, guard, st.builds(Catch, inner)]
        if timeout:
            options.append(st.builds(Timeout, inner))
    return st.lists(st.one_of(options), min_size=1, max_size=4).map(tuple)


def programs(*, cancel: bool, timeout: bool) -> st.SearchStrategy[Program]:
    actions = ["cancel task", "cancel group"] if cancel else ["cancel task"]
    outside = st.lists(st.tuples(st.integers(0, 12), st.sampled_from(actions)), max_size=2).map(
        lambda events: tuple(sorted(events))
    )
    return st.builds(Program, body_ops(2, cancel, timeout), outside)


# --- Running a program ---------------------------------------------------------------


class Boom(Exception):
    pass


def shape(exc: BaseException | None) -> Any:
    """What an exception is, in terms that compare across implementations."""
    if exc is None:
        return "ok"
    if isinstance(exc, asyncio.CancelledError):
        return "CancelledError"
    if isinstance(exc, BaseExceptionGroup):
        # Sorted: the order of a group's errors can follow the order in which its
        # children were cancelled, which is a set's order (asyncio's too).
        return ("group", tuple(sorted((shape(e) for e in exc.exceptions), key=repr)))
    if isinstance(exc, Boom):
        return exc.args[0]
    return type(exc).__name__  # pragma: no cover - nothing else is raised


def labels(exc: BaseException | None) -> set[str]:
    """The errors in *exc*, groups flattened."""
    if isinstance(exc, BaseExceptionGroup):
        return set().union(*(labels(e) for e in exc.exceptions))
    return {exc.args[0]} if isinstance(exc, Boom) else set()


@dataclass(frozen=True)
class Implementation:
    name: str
    group: Callable[[], Any]
    spawn: Callable[[Any, Coroutine[Any, Any, None]], asyncio.Task[None]]
    running: Callable[[Any], int]  # how many children the group still waits for


TASKWISE = Implementation(
    "taskwise", TaskGroup, lambda tg, coro: tg.spawn(coro), lambda tg: len(tg.tasks)
)
ASYNCIO = Implementation(
    "asyncio",
    getattr(asyncio, "TaskGroup", TaskGroup),
    lambda tg, coro: tg.create_task(coro),
    lambda tg: len(tg._tasks),
)


@dataclass
class Run:
    """One run of a program, and what it recorded."""

    program: Program
    impl: Implementation
    checkpoint_first: bool = False  # children await once before their first operation
    trace: list[tuple[Any, ...]] = field(default_factory=list)
    raised: set[str] = field(default_factory=set)  # every error raised
    converted: set[str] = field(default_factory=set)  # errors made from a cancellation
    handled: set[str] = field(default_factory=set)  # errors a Catch caught
    swallowed: bool = False  # an outside cancellation may have been handled by the program
    timeout_withdrawn: bool = False  # see check_invariants()
    outside: int = 0  # outside cancellations requested so far
    outside_at_exit: int | None = None  # ... when the outermost group exited
    outside_after: int | None = None  # ... when the await after it returned
    outcome: Any = None  # what the outermost block raised
    outcome_labels: set[str] = field(default_factory=set)
    next_await: str | None = None  # the await after it: "ok" or "cancelled"
    cancelling: int | None = None  # 3.11+: the task's cancelling() after the block
    finished: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    groups: list[Any] = field(default_factory=list)
    children: dict[int, list[asyncio.Task[None]]] = field(default_factory=dict)  # by group
    idle_exits: dict[str, bool] = field(default_factory=dict)  # group path: exits at once
    release: asyncio.Event | None = None
    runner: asyncio.Task[None] | None = None

    # -- the driver, and the task that runs the outermost group

    async def drive(self) -> None:
        self.release = asyncio.Event()
        self.runner = asyncio.get_running_loop().create_task(self.run_outermost())
        for iteration in range(MAX_ITERATIONS):
            self.trace.append(("iteration", iteration))  # every step of the loop counts
            for at, action in self.program.outside:
                if at == iteration:
                    self.trace.append(("driver", action))
                    if action == "cancel task":
                        self.cancel_task()
                    elif self.groups:
                        self.groups[0].cancel()
            if iteration == RELEASE_AT:
                self.release.set()
            if self.runner.done() and all(task.done() for task in self.tasks):
                self.finished = True
                return
            await asyncio.sleep(0)

    def cancel_task(self) -> None:
        assert self.runner is not None
        if not self.runner.done():
            self.outside += 1
            self.runner.cancel()

    async def run_outermost(self) -> None:
        outcome: BaseException | None = None
        try:
            await self.group(self.program.body, "g")
        except BaseException as exc:
            outcome = exc
        self.outcome = shape(outcome)
        self.outcome_labels = labels(outcome)
        self.outside_at_exit = self.outside
        task: Any = asyncio.current_task()
        if hasattr(task, "cancelling"):
            self.cancelling = task.cancelling()
        del outcome
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            self.next_await = "cancelled"
        else:
            self.next_await = "ok"
        self.outside_after = self.outside
        self.trace.append(("after the block", self.outcome, self.next_await))

    # -- the interpreter

    async def group(self, body: tuple[Op, ...], path: str) -> None:
        tg = self.impl.group()
        self.groups.append(tg)
        children = self.children[id(tg)] = []
        try:
            async with tg:
                try:
                    await self.ops(body, path, tg)
                finally:
                    task: Any = asyncio.current_task()
                    self.trace.append((path, "body ended"))
                    # Nothing to wait for: the group exits in this very step, but on
                    # 3.10-3.12 for a cancellation of its own that is still pending.
                    self.idle_exits[path] = not self.impl.running(tg) and not (
                        task._must_cancel and not UNCANCEL_CLEARS_PENDING
                    )
        except BaseException as exc:
            done = all(child.done() for child in children)
            self.trace.append((path, "group raised", shape(exc), done))
            raise
        done = all(child.done() for child in children)
        self.trace.append((path, "group exited", done))

    async def ops(self, ops: tuple[Op, ...], path: str, tg: Any) -> None:
        for number, op in enumerate(ops):
            await self.op(op, f"{path}.{number}", tg)

    async def op(self, op: Op, path: str, tg: Any) -> None:
        self.trace.append((path, type(op).__name__))
        if isinstance(op, Sleep):
            for _ in range(op.steps):
                await asyncio.sleep(0)
        elif isinstance(op, Raise):
            self.raised.add(path)
            raise Boom(path)
        elif isinstance(op, Block):
            assert self.release is not None
            await self.release.wait()
        elif isinstance(op, CancelTask):
            self.cancel_task()
        elif isinstance(op, CancelGroup):
            tg.cancel()
        elif isinstance(op, Spawn):
            try:
                task = self.impl.spawn(tg, self.child(op.ops, path, tg))
            except RuntimeError:  # the group is shutting down or finished; coro closed
                self.trace.append((path, "spawn refused"))
            else:
                self.tasks.append(task)
                self.children[id(tg)].append(task)
        elif isinstance(op, Nested):
            await self.group(op.body, path)
        elif isinstance(op, Guard):
            await self.guard(op, path, tg)
        elif isinstance(op, Catch):
            try:
                await self.ops(op.ops, path, tg)
            except Exception as exc:
                self.trace.append((path, "caught", shape(exc)))
                self.handled |= labels(exc)
                if self.converted & labels(exc):
                    self.swallowed = True
        else:
            assert isinstance(op, Timeout)
            timeout = asyncio.timeout(0)  # type: ignore[attr-defined,unused-ignore]
            try:
                async with timeout:
                    await self.ops(op.ops, path, tg)
            except TimeoutError:  # a cancellation turned into an error, like "convert"
                self.raised.add(path)
                self.converted.add(path)
                raise Boom(path) from None
            except Exception:
                # The timeout expired, but an error left the block: it takes back its
                # cancellation, which a group may have kept pending for the next await
                # (errors win, and an outside cancellation stays in effect).
                self.timeout_withdrawn |= timeout.expired()
                raise

    async def guard(self, op: Guard, path: str, tg: Any) -> None:
        try:
            await self.ops(op.ops, path, tg)
        except asyncio.CancelledError:
            self.trace.append((path, "caught CancelledError"))
            if op.on_cancel == "swallow":
                self.swallowed = True
                return
            if op.on_cancel == "reraise":
                await asyncio.sleep(0)  # a cleanup step, which may be cancelled again
                raise
            self.raised.add(path)
            self.converted.add(path)
            raise Boom(path) from None

    async def child(self, ops: tuple[Op, ...], path: str, tg: Any) -> None:
        try:
            if self.checkpoint_first:
                await asyncio.sleep(0)
            await self.ops(ops, path, tg)
        except asyncio.CancelledError:
            self.trace.append((path, "child cancelled"))
            raise
        except BaseException as exc:
            self.trace.append((path, "child failed", shape(exc)))
            raise
        self.trace.append((path, "child returned"))


# --- Loops ---------------------------------------------------------------------------


def eager_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined,unused-ignore]
    return loop


# Every program runs under each loop flavour in turn (rather than one test per
# flavour): drawing a program costs Hypothesis far more than running it.
FLAVOURS: list[tuple[str, Callable[[], asyncio.AbstractEventLoop]]] = [
    ("asyncio", asyncio.new_event_loop)
]
if uvloop is not None:
    FLAVOURS.append(("uvloop", uvloop.new_event_loop))
if hasattr(asyncio, "eager_task_factory"):  # 3.12+
    FLAVOURS.append(("eager", eager_loop))


def run(
    program: Program,
    new_loop: Callable[[], asyncio.AbstractEventLoop],
    impl: Implementation = TASKWISE,
    *,
    checkpoint_first: bool = False,
    task_factory: Any = None,
) -> Run:
    state = Run(program, impl, checkpoint_first)
    reports: list[dict[str, Any]] = []
    loop = new_loop()
    loop.set_exception_handler(lambda _, context: reports.append(context))
    if task_factory is not None:
        loop.set_task_factory(task_factory)
    try:
        loop.run_until_complete(state.drive())
    finally:
        loop.close()
    assert reports == [], reports
    return state


def steps(trace: list[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
    """The trace, loop iteration by loop iteration, each iteration's events sorted.

    A group cancels its children in the order of a set (asyncio's groups too), so
    the order of what they do within one iteration differs from run to run; which
    iteration they do it in does not.
    """
    found: list[list[tuple[Any, ...]]] = [[]]
    for event in trace:
        if event[0] == "iteration":
            found.append([])
        found[-1].append(event)
    return [sorted(events, key=repr) for events in found]


def check_invariants(r: Run, flavour: str) -> None:
    where = f"(under {flavour})"
    assert r.finished, f"the program did not finish {where}"
    assert r.next_await is not None, f"the task was cancelled before it entered the group {where}"
    ended: dict[str, int] = {}
    for index, event in enumerate(r.trace):
        if event[1] == "body ended":
            ended[event[0]] = index
        if event[1] in ("group raised", "group exited"):
            assert event[-1], f"{event[0]}: a child was still pending when the group exited {where}"
            if r.idle_exits[event[0]]:
                between = r.trace[ended[event[0]] : index]
                assert ("iteration",) not in [e[:1] for e in between], (
                    f"{event[0]}: the group took a loop iteration with nothing to wait for {where}"
                )
    lost = r.raised - r.outcome_labels - r.handled
    assert not lost, f"errors lost: {sorted(lost)} {where}"
    # On 3.11/3.12 uncancel() cannot withdraw a cancellation that has not reached the
    # task: when a group kept a timeout's cancellation pending (it raised errors, which
    # win) and the timeout then took it back, it still strikes at the next await. A
    # known limitation there (docs/taskgroup.md); 3.13's uncancel() withdraws it.
    if r.outside_after == 0 and not (r.timeout_withdrawn and not UNCANCEL_CLEARS_PENDING):
        assert r.outcome != "CancelledError", f"a cancellation was invented {where}"
        assert r.next_await == "ok", f"a cancellation was left pending {where}"
    if r.outside_at_exit and not r.swallowed:
        assert r.outcome == "CancelledError" or r.next_await == "cancelled", (
            f"an outside cancellation was lost {where}"
        )
    if r.cancelling is not None:
        assert r.cancelling == r.outside_at_exit, f"cancelling() is not restored {where}"


def started(program: Program) -> bool:
    """Whether the task gets to enter its group: not if cancelled before its first step."""
    return not any(at == 0 and action == "cancel task" for at, action in program.outside)


# --- The tests -----------------------------------------------------------------------


# The issue's reproducers, and what the fuzz found since, run first every time.
ISSUE_9 = {
    "1a": Program((CancelGroup(), CancelTask(), Raise())),
    "1a, a child to wait for": Program((Spawn((Block(),)), CancelGroup(), CancelTask(), Raise())),
    "1b": Program((CancelGroup(), CancelTask())),
    "1c": Program((Spawn((Raise(),)), Guard((Block(),), "swallow"))),
    "1d": Program((Spawn((Sleep(0),)), CancelTask())),
    "1e, turned into an error": Program((Guard((Block(),), "convert"),), ((3, "cancel task"),)),
    "3.10, merged, then turned into an error": Program(
        (Spawn((Sleep(1), Raise())), Guard((Block(),), "convert")), ((4, "cancel task"),)
    ),
    "3.10, merged in an inner group": Program(
        (CancelGroup(), Nested((Spawn((Sleep(1),)),))), ((2, "cancel task"),)
    ),
    "3.10, the group's cancellation in the cleanup of an outside one": Program(
        (
            Guard(
                (CancelTask(), Guard((Spawn((Raise(),)), Block()), "reraise")),
                "convert",
            ),
        )
    ),
    "3.10, merged in an inner group's wait": Program(
        (CancelGroup(), Nested((Spawn((Raise(),)),))), ((1, "cancel task"),)
    ),
}
TIMEOUTS = {
    "3.11/3.12, a timeout during the step": Program((Timeout((Nested((CancelGroup(),)),)),)),
    "3.11/3.12, and errors": Program((Timeout((Nested((CancelGroup(), Raise())),)),)),
}


def examples(*programs: Program) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def decorate(test: Callable[..., None]) -> Callable[..., None]:
        for program in reversed(programs):
            test = example(program=program)(test)
        return test

    return decorate


def without_cancel(program: Program) -> bool:
    return "CancelGroup()" not in repr(program) and "cancel group" not in repr(program)


@pytest.mark.skipif(
    sys.version_info < (3, 13), reason="asyncio.TaskGroup as of 3.13 (3.11/3.12 differ on purpose)"
)
@SETTINGS
@examples(*filter(without_cancel, [*ISSUE_9.values(), *TIMEOUTS.values()]))
@given(program=programs(cancel=False, timeout=True))
def test_same_as_asyncio(program: Program) -> None:
    for flavour, new_loop in FLAVOURS:
        checkpoint = flavour == "eager"  # 3.13.0 lacks gh-128550/gh-128588: see above
        ours = run(program, new_loop, TASKWISE, checkpoint_first=checkpoint)
        theirs = run(program, new_loop, ASYNCIO, checkpoint_first=checkpoint)
        assert steps(ours.trace) == steps(theirs.trace), f"under {flavour}"
        if started(program):
            check_invariants(ours, flavour)


@SETTINGS
@examples(*ISSUE_9.values(), *(TIMEOUTS.values() if HAS_TIMEOUT else ()))
@given(program=programs(cancel=True, timeout=HAS_TIMEOUT))
def test_invariants(program: Program) -> None:
    for flavour, new_loop in FLAVOURS:
        r = run(program, new_loop)
        if started(program):
            check_invariants(r, flavour)


class CountingTask(getattr(asyncio.tasks, "_PyTask", asyncio.Task)):  # type: ignore[misc]
    """A 3.10 task that counts its cancellations as 3.11's tasks do."""

    _cancels = 0

    def cancel(self, msg: Any = None) -> bool:
        if not self.done():
            self._cancels += 1
        return bool(super().cancel(msg))

    def cancelling(self) -> int:
        return self._cancels

    def uncancel(self) -> int:  # as 3.11's: a pending cancellation stays pending
        if self._cancels > 0:
            self._cancels -= 1
        return self._cancels


def counting_task_factory(loop: asyncio.AbstractEventLoop, coro: Any) -> asyncio.Task[Any]:
    return CountingTask(coro, loop=loop)  # type: ignore[no-any-return]


@pytest.mark.skipif(HAS_COUNTER, reason="3.10 only")
@SETTINGS
@examples(*ISSUE_9.values())
@given(program=programs(cancel=True, timeout=False))
def test_310_same_as_311(program: Program) -> None:
    for flavour, new_loop in FLAVOURS:
        as_310 = run(program, new_loop)
        with mock.patch.object(group_module, "TASKS_CAN_UNCANCEL", True):
            as_311 = run(program, new_loop, task_factory=counting_task_factory)
        if started(program):
            check_invariants(as_310, flavour)
            check_invariants(as_311, f"{flavour}, tasks that count")
        if as_311.swallowed and as_311.outside:
            continue  # a swallowed outside cancellation: no 3.10 equivalent (see above)
        assert steps(as_310.trace) == steps(as_311.trace), f"under {flavour}"
