"""taskwise's pytest plugin: tests fail on the tasks they leave running and on lost failures.

It is installed with taskwise and registered through pytest's ``pytest11`` entry point,
and it does nothing until a project turns on *strict mode*:

* in the pytest configuration, ``taskwise_strict = true`` (``[tool.pytest.ini_options]``
  of pyproject.toml, or pytest.ini);
* or on the command line, ``--taskwise-strict`` (``--no-taskwise-strict`` turns it off
  for one run).

In strict mode, for every test (``async def`` tests run by pytest-asyncio or anyio's
plugin, in any loop scope):

* the tasks it started with :func:`taskwise.spawn` or ``TaskGroup.spawn()`` -- while
  its ``async def`` function ran, or in its function-scoped fixtures -- that are still
  running at its end fail it, named with their group path and the line that spawned
  them; they are then cancelled and awaited (up to ``taskwise_cancel_timeout`` seconds,
  5 by default), so that they cannot run into the next test. A test function's tasks
  are looked at when it returns, its fixtures' after their teardown. Tasks started by
  fixtures of a wider scope (module, session, ...) belong to those fixtures;
* a failure that spawn() reports while the test function runs (a spawned task failed
  and nobody can read its exception) fails it, with the task's own traceback.

Tasks that may outlive a test (say the request handlers of a server that a session
fixture runs) are allowed with the ``taskwise_allow_leftovers`` marker, or, in a
fixture, the ``taskwise_allow_leftovers`` fixture. See docs/testing.md.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import inspect
import math
import os
import threading
import traceback
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Final, final
from weakref import WeakKeyDictionary

import pytest

from .._core import _hooks
from .._core._compat import TASKS_CAN_UNCANCEL, BaseExceptionGroup
from .._core._keeper import keeper_or_none, user_frame
from .._observe._tree import await_site

__all__ = ["AllowLeftovers"]

#: The marker, and the fixture, that allow leftovers.
ALLOW: Final = "taskwise_allow_leftovers"

#: How long leftovers get to finish once cancelled, unless taskwise_cancel_timeout says.
DEFAULT_CANCEL_TIMEOUT: Final = 5.0

#: What the CancelledError of a leftover says.
CANCEL_MESSAGE: Final = "taskwise strict mode: the task was still running when its test ended"

#: How many loop iterations at most the end of a test waits for the keeper to look at
#: failures (a report comes two to five iterations after a task fails).
SETTLE_ITERATIONS: Final = 12

_ALLOWED = pytest.StashKey[list[tuple[str, ...]]]()


@final
class AllowLeftovers:
    """What the ``taskwise_allow_leftovers`` fixture gives: ``with allow("server"): ...``.

    Calling it with patterns returns a context manager; while it is entered, tasks
    whose name, group path, or path of a group around them matches one of the
    patterns (shell-style, as :func:`fnmatch.fnmatchcase`) may outlive the tests
    that started them. Use it around a fixture's ``yield``.

    Example::

        @pytest_asyncio.fixture(loop_scope="session", scope="session")
        async def server(taskwise_allow_leftovers: AllowLeftovers) -> AsyncIterator[Server]:
            async with TaskGroup("server") as tg:
                with taskwise_allow_leftovers("server"):
                    yield Server(tg)
                tg.cancel()
    """

    __slots__ = ("_active",)

    def __init__(self, active: list[tuple[str, ...]]) -> None:
        self._active = active

    def __call__(self, *patterns: str) -> AbstractContextManager[None]:
        return self._allowing(check_patterns(patterns, f"the {ALLOW} fixture"))

    @contextmanager
    def _allowing(self, patterns: tuple[str, ...]) -> Iterator[None]:
        self._active.append(patterns)
        try:
            yield
        finally:
            self._active.remove(patterns)

    def __repr__(self) -> str:
        return f"<AllowLeftovers active={self._active!r}>"


def check_patterns(patterns: Iterable[object], where: str) -> tuple[str, ...]:
    """Refuse patterns that can never match a task, saying what to write instead."""
    checked: list[str] = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            if isinstance(pattern, (list, tuple, set)):
                spread = ", ".join(repr(p) for p in pattern)
                fix = f"pass the patterns one by one: {ALLOW}({spread})"
            else:
                fix = f"a pattern is text, such as {ALLOW}('server') or {ALLOW}('server/*')"
            raise TypeError(f"{where} takes patterns as strings, but got {pattern!r}: {fix}.")
        if not pattern.strip() or pattern != pattern.strip():
            raise ValueError(
                f"{where} got the pattern {pattern!r}, which no task name or group path "
                f"matches: write a group path or a task name, such as 'server' or 'server/*'"
                + (f", without the spaces: {pattern.strip()!r}." if pattern.strip() else ".")
            )
        if pattern.startswith("^") or pattern.endswith("$"):
            raise ValueError(
                f"{where} got {pattern!r}, which looks like a regular expression: patterns "
                f"are shell-style (fnmatch), as in 'server' or 'server/*'."
            )
        if pattern.startswith("/") or "//" in pattern or (pattern.endswith("/")):
            fixed = "/".join(part for part in pattern.split("/") if part) or "*"
            raise ValueError(
                f"{where} got {pattern!r}, which can never match: group paths are written "
                f"'outer/inner', with no leading, trailing or doubled '/'. Did you mean "
                f"{fixed!r} (or {fixed + '/*'!r})?"
            )
        checked.append(pattern)
    if not checked:
        raise ValueError(
            f"{where} needs at least one pattern, such as {ALLOW}('server'); "
            f"{ALLOW}('*') allows every leftover."
        )
    return tuple(checked)


def allowed(name: str, path: str, patterns: Iterable[str]) -> bool:
    """Whether a task named *name*, started in group *path*, matches one of *patterns*.

    A pattern matches the task's name, its group path, or the path of any group
    around it: 'server' allows everything started inside ``TaskGroup("server")``.
    """
    candidates = [name]
    if path:
        parts = path.split("/")
        candidates.extend("/".join(parts[:end]) for end in range(len(parts), 0, -1))
    return any(fnmatch.fnmatchcase(c, p) for p in patterns for c in candidates)


# -- options, the marker and the fixture: always there, and inert unless strict -----------


def pytest_addoption(parser: pytest.Parser) -> None:
    """The options that turn strict mode on and tune it."""
    group = parser.getgroup("taskwise")
    group.addoption(
        "--taskwise-strict",
        action="store_true",
        dest="taskwise_strict",
        default=None,
        help="fail tests that leave spawned tasks running or lose a spawned task's failure "
        "(overrides the taskwise_strict ini option)",
    )
    group.addoption(
        "--no-taskwise-strict",
        action="store_false",
        dest="taskwise_strict",
        help="turn taskwise's strict mode off for this run",
    )
    parser.addini(
        "taskwise_strict",
        type="bool",
        default=False,
        help="fail tests that leave spawned tasks running or lose a spawned task's failure",
    )
    parser.addini(
        "taskwise_cancel_timeout",
        type="string",
        default=str(DEFAULT_CANCEL_TIMEOUT),
        help="strict mode: seconds a test's leftover tasks get to finish once cancelled "
        f"(default {DEFAULT_CANCEL_TIMEOUT:g})",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; in strict mode, register the part that watches each test."""
    config.addinivalue_line(
        "markers",
        f"{ALLOW}(*patterns): taskwise strict mode: tasks whose name, group path or "
        f"enclosing group path matches a pattern (shell-style) may outlive the test",
    )
    config.stash[_ALLOWED] = []
    strict = config.getoption("taskwise_strict", default=None)
    if strict is None:
        strict = config.getini("taskwise_strict")
    if strict:
        config.pluginmanager.register(_Strict(config), "taskwise-strict")


@pytest.fixture(scope="session")
def taskwise_allow_leftovers(pytestconfig: pytest.Config) -> AllowLeftovers:
    """Allow tasks matching patterns to outlive tests, while a ``with`` block runs.

    For fixtures whose tasks outlive the tests that cause them (a server's request
    handlers): ``with taskwise_allow_leftovers("server"): yield ...``. Tests use the
    marker of the same name. It does nothing outside strict mode.
    """
    return AllowLeftovers(pytestconfig.stash[_ALLOWED])


# -- strict mode -------------------------------------------------------------------------


@final
class _Spawned:
    """Where and when a task of the test was spawned."""

    __slots__ = ("checked", "filename", "lineno", "path", "phase")

    def __init__(self, path: str, filename: str, lineno: int, phase: str) -> None:
        self.path = path
        self.filename = filename
        self.lineno = lineno
        self.phase = phase  # "setup", "call" or "teardown"
        self.checked = False  # looked at already: reported, or allowed


@final
class _Finding:
    """A task that a test left running, or a failure it lost, described for the report."""

    __slots__ = ("exception", "text")

    def __init__(self, text: str, exception: BaseException | None = None) -> None:
        self.text = text
        self.exception = exception


class _Watch:
    """One test: the tasks it spawns, the failures reported while its function runs."""

    def __init__(self, item: pytest.Item, strict: _Strict) -> None:
        self.item = item
        self.strict = strict
        self.phase = "setup"
        # Weakly: a reference would tell the keeper that somebody holds a failed task,
        # and its failure would not be reported.
        self.spawned: WeakKeyDictionary[asyncio.Task[Any], _Spawned] = WeakKeyDictionary()
        self.lock = threading.Lock()
        # The scopes of the fixtures being set up, innermost last.
        self.scopes: list[str] = []
        self.patterns = tuple(
            pattern
            for marker in item.iter_markers(ALLOW)
            for pattern in check_patterns(marker.args, f"@pytest.mark.{ALLOW}(...)")
        )
        self.leftovers: list[_Finding] = []
        self.failures: list[_Finding] = []
        self.finalizing = False  # whether stop_outside() is one of the test's finalizers
        self.record = self._record  # bound once: _Strict._unwatch() compares it

    # -- what spawn() and TaskGroup.spawn() tell -------------------------------------------

    def _record(self, task: asyncio.Task[Any], path: str) -> None:
        if (self.scopes and self.scopes[-1] != "function") or self.strict.wide_teardowns:
            return  # a module/session/... fixture's
        # (A task that failed in an eager first step comes too: its report names the site.)
        frame = user_frame()  # the caller of spawn() or TaskGroup.spawn()
        spawned = _Spawned(path, frame.f_code.co_filename, frame.f_lineno, self.phase)
        with self.lock:  # a loop in another thread may spawn while the test looks
            self.spawned[task] = spawned

    # -- which leftovers count ---------------------------------------------------------------

    def allowing(self) -> tuple[str, ...]:
        active = self.item.config.stash[_ALLOWED]
        return self.patterns + tuple(p for patterns in active for p in patterns)

    def running(
        self, loop: asyncio.AbstractEventLoop | None, phases: tuple[str, ...]
    ) -> list[tuple[asyncio.Task[Any], _Spawned]]:
        """The tasks of *phases* still running (on *loop*, if given) and not allowed."""
        patterns = self.allowing()
        found = []
        with self.lock:
            spawned = list(self.spawned.items())
        for task, info in spawned:
            if task.done() or info.checked or info.phase not in phases:
                continue
            if loop is not None and task.get_loop() is not loop:
                continue
            info.checked = True
            if patterns and allowed(task.get_name(), info.path, patterns):
                continue
            found.append((task, info))
        return found

    def describe(self, task: asyncio.Task[Any], info: _Spawned | None, path: str = "") -> str:
        if info is not None:
            path = info.path
            site = f"spawned at {self.strict.relative(info.filename)}:{info.lineno}"
            if info.phase != "call":
                site += f" (in the test's {info.phase})"
        else:
            site = "spawned before the test started"
        group = f"group {path!r}" if path else "no group"
        text = f"{task.get_name()!r} ({group}), {site}"
        if not task.done():
            where = waiting_at(task)
            if where is not None:
                text += f", waiting at {self.strict.relative(where)}"
        return text

    # -- stopping leftovers ------------------------------------------------------------------

    async def stop(self, leftovers: list[tuple[asyncio.Task[Any], _Spawned]]) -> None:
        """Report *leftovers*, cancel them and wait for them (bounded); then the same for
        the tasks their cleanup spawned, for a few rounds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.strict.cancel_timeout
        for again in range(3):
            if again:  # what the cleanup of the last round spawned (anything later is
                # left for the look after the teardown)
                leftovers = self.running(loop, (self.phase,))
            if not leftovers:
                return
            if not TASKS_CAN_UNCANCEL:
                # 3.10 cannot tell a task cancelled a step ago (now in its cleanup) from
                # one nobody cancelled: there, what a test leaves gets two loop
                # iterations to end before it counts as left running.
                for _ in range(2):
                    await asyncio.sleep(0)
            stopping = [t for t, _ in leftovers if not t.done() and _being_cancelled(t)]
            if stopping:
                # Cancelled by the test or a fixture, and not done only because the loop
                # has not run them since: theirs to end, given the time to.
                await asyncio.wait(stopping, timeout=max(0.0, deadline - loop.time()))
            leftovers = [(task, info) for task, info in leftovers if not task.done()]
            if not leftovers:
                continue  # (to what their cleanup may have spawned)
            for task, info in leftovers:
                self.leftovers.append(_Finding(self.describe(task, info)))
                task.cancel(CANCEL_MESSAGE)
            tasks = [task for task, _ in leftovers]
            _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()))
            for task in tasks:
                if task in pending:
                    self.leftovers.append(
                        _Finding(
                            f"{task.get_name()!r} was still running "
                            f"{self.strict.cancel_timeout:g} s after it was cancelled, "
                            f"and was left running"
                        )
                    )
                elif not task.cancelled() and task.exception() is not None:
                    text = f"{task.get_name()!r}, left running by {self.item.name}, failed"
                    self.failures.append(
                        _Finding(f"{text} when it was cancelled", task.exception())
                    )

    async def settle(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let the keeper look at the tasks that just finished: a failure among them is
        reported within a few loop iterations, and is the test's."""
        keeper = keeper_or_none(loop)
        iteration = 0
        while keeper is not None and iteration < SETTLE_ITERATIONS:
            if iteration >= 2 and not keeper.ticking:
                return
            await asyncio.sleep(0)
            iteration += 1

    # -- the test function -------------------------------------------------------------------

    def wrap(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """*func*, an ``async def`` test, run so that its leftovers and failures are seen."""
        watch = self

        @functools.wraps(func)
        async def taskwise_strict(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            loop = asyncio._get_running_loop()
            if loop is None:  # another async library runs it (anyio's trio backend)
                return await func(*args, **kwargs)
            handler = _Handler(loop, watch)
            try:
                result = await func(*args, **kwargs)
            except (KeyboardInterrupt, SystemExit):  # pragma: no cover - ends the run
                handler.remove()  # (and waiting for tasks here would swallow it)
                raise
            except BaseException:
                await watch.end_of_function(loop, handler)
                raise
            await watch.end_of_function(loop, handler)
            return result

        return taskwise_strict

    async def end_of_function(self, loop: asyncio.AbstractEventLoop, handler: _Handler) -> None:
        try:
            await self.stop(self.running(loop, ("call",)))
            await self.settle(loop)
        finally:
            handler.remove()

    def stop_outside(self) -> None:
        """After the teardown: stop the tasks of the test still running on loops that are
        open and idle (a module- or session-scoped loop, where they would run on)."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Task[Any], _Spawned]]] = {}
        for task, info in self.running(None, ("setup", "call", "teardown")):
            by_loop.setdefault(task.get_loop(), []).append((task, info))
        for loop, leftovers in by_loop.items():
            if loop.is_closed() or loop.is_running():
                continue  # nothing can run there from here (another thread's, or gone)
            loop.run_until_complete(self.stop(leftovers))

    def findings(self) -> str:
        """What was found, for a person: the lost failures, then the leftovers."""
        lines: list[str] = []
        if self.failures:
            lines.append(self.failed_line())
            lines.extend(f"  {finding.text}" for finding in self.failures)
        if self.leftovers:
            count = len(self.leftovers)
            lines.append(
                f"{self.item.name} left {count} task{'s' if count != 1 else ''} running "
                f"(taskwise cancelled {'them' if count != 1 else 'it'}):"
            )
            lines.extend(f"  {finding.text}" for finding in self.leftovers)
            lines.append(
                "Await or cancel the tasks a test starts before it ends; to let some outlive "
                f"it, see the {ALLOW} marker and fixture."
            )
        return "\n".join(lines)

    def failed_line(self) -> str:
        count = len(self.failures)
        if count == 1:
            return f"{self.item.name}: a spawned task failed, and nobody could read its exception:"
        return (
            f"{self.item.name}: {count} spawned tasks failed, and nobody could read "
            f"their exceptions:"
        )

    def raise_findings(self) -> None:
        """Fail the test with what was found, if anything (and forget it).

        A lost failure fails it with the task's own exception (a group of them, if
        several), with a note that says which task it was and where it came from.
        """
        __tracebackhide__ = _ours
        failures, self.failures = self.failures, []
        if not failures:
            if self.leftovers:
                text = self.findings()
                self.leftovers = []
                raise pytest.fail.Exception(text, pytrace=False)
            return
        causes: list[BaseException] = []
        for finding in failures:
            assert finding.exception is not None
            add_note(finding.exception, f"taskwise strict mode: {finding.text}")
            causes.append(finding.exception)
        if len(causes) == 1:
            error = causes[0]
        else:
            error = BaseExceptionGroup(
                f"{self.item.name}: {len(causes)} spawned tasks failed, and nobody could "
                f"read their exceptions",
                causes,
            )
        if self.leftovers:
            add_note(error, self.findings())
            self.leftovers = []
        raise error

    def report_beside(self, item: pytest.Item, when: str) -> None:
        """The test failed anyway: add what was found as a section of its report."""
        if not (self.failures or self.leftovers):
            return
        text = self.findings()
        for finding in self.failures:
            assert finding.exception is not None
            text += "\n\n" + format_failure(finding.exception)
        item.add_report_section(when, "taskwise", text)
        self.failures = []
        self.leftovers = []


class _Handler:
    """The loop's exception handler while a test function runs: it keeps taskwise's
    reports for the test, and passes everything else on to the handler it replaced.

    A test or fixture that has set a handler of its own gets the reports: the plugin
    installs none then. anyio's plugin sets one that fails the test on any report; the
    plugin goes in front of it, so that a report is told once, with where the task came
    from.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, watch: _Watch) -> None:
        self.loop = loop
        self.watch = watch
        self.previous = loop.get_exception_handler()
        self.installed = self.previous is None or _is_anyios(self.previous)
        if self.installed:
            loop.set_exception_handler(self.handle)

    def handle(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        task = context.get("task")
        exception = context.get("exception")
        message = str(context.get("message", ""))
        if (
            isinstance(task, asyncio.Task)
            and isinstance(exception, BaseException)
            and "taskwise.spawn()" in message
        ):
            watch = self.watch
            text = watch.describe(task, watch.spawned.get(task), str(context.get("group_path", "")))
            text += f", failed while {watch.item.name} ran"
            watch.failures.append(_Finding(text, exception))
            return
        if self.previous is not None:
            self.previous(loop, context)
        else:
            loop.default_exception_handler(context)

    def remove(self) -> None:
        if self.installed and self.loop.get_exception_handler() == self.handle:
            self.loop.set_exception_handler(self.previous)
        self.installed = False


def _is_anyios(handler: Callable[..., object]) -> bool:
    """Whether *handler* is the one anyio's pytest plugin sets on its test loops."""
    owner = getattr(handler, "__self__", None)
    return type(owner).__module__.startswith("anyio.")


@final
class _Strict:
    """The hooks of strict mode, registered only when it is on."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.rootdir = str(config.rootpath)
        self.cancel_timeout = _timeout(config.getini("taskwise_cancel_timeout"))
        self.watch: _Watch | None = None
        # The watcher of a run this one runs inside (pytester's in-process runs): the
        # outer test's, given back between this run's tests and when this run ends.
        self.outer = _hooks.spawn_watcher
        # How many fixtures wider than a function are being torn down (in the teardown
        # of the last test that uses them): what they spawn then is theirs.
        self.wide_teardowns = 0

    def relative(self, site: str) -> str:
        return relative_to(self.rootdir, site)

    def pytest_report_header(self) -> str:
        return (
            f"taskwise: strict mode (tests fail on leftover tasks and lost failures; "
            f"cancel timeout {self.cancel_timeout:g} s)"
        )

    def pytest_unconfigure(self) -> None:
        self._unwatch()

    def _unwatch(self) -> None:
        watch, self.watch = self.watch, None
        if watch is not None and _hooks.spawn_watcher == watch.record:
            _hooks.set_spawn_watcher(self.outer)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        self._unwatch()
        try:
            watch = _Watch(item, self)
        except (TypeError, ValueError) as exc:  # a marker with patterns that never match
            raise pytest.fail.Exception(f"{item.name}: {exc}", pytrace=False) from None
        self.watch = watch
        _hooks.set_spawn_watcher(watch.record)
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, object, object]:
        watch = self.watch
        if watch is None:  # pragma: no cover - a fixture set up outside any test's setup
            return (yield)
        if not watch.finalizing:
            # The first fixture of the test: the test is set up as a node by now, and a
            # finalizer added to it runs after every function-scoped fixture's teardown,
            # and before that of wider fixtures (a module- or session-scoped loop's).
            watch.finalizing = True
            watch.item.addfinalizer(watch.stop_outside)
        watch.scopes.append(fixturedef.scope)
        wide = fixturedef.scope != "function"
        if wide:
            # Finalizers run last added, first: this one after the fixture's own
            # teardown (which its setup adds), the one added below before it.
            tearing = [False]
            fixturedef.addfinalizer(functools.partial(self._torn_down, tearing))
        try:
            value = yield
        finally:
            watch.scopes.pop()
        if wide:
            fixturedef.addfinalizer(functools.partial(self._tearing_down, tearing))
        if fixturedef.scope == "function" and _owns_a_loop(value):
            # A function-scoped loop (pytest-asyncio's runner): the fixtures that use it
            # are torn down before it (its finalizers run last added, first), and this
            # runs between them and its own teardown.
            fixturedef.addfinalizer(watch.stop_outside)
        return value

    def _tearing_down(self, tearing: list[bool]) -> None:
        tearing[0] = True
        self.wide_teardowns += 1

    def _torn_down(self, tearing: list[bool]) -> None:
        if tearing[0]:
            tearing[0] = False
            self.wide_teardowns -= 1

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        __tracebackhide__ = _ours
        watch = self.watch
        if watch is None or watch.item is not item:  # pragma: no cover - not set up by us
            return (yield)
        watch.phase = "call"
        function = item if isinstance(item, pytest.Function) else None
        func = function.obj if function is not None else None
        # (anyio and pytest-asyncio run a Hypothesis test's inner function themselves:
        # such a test is looked at after its teardown only.)
        wrapped = (
            function is not None
            and inspect.iscoroutinefunction(func)
            and not hasattr(func, "hypothesis")
        )
        if wrapped:
            assert function is not None and func is not None
            function.obj = watch.wrap(func)
        try:
            yield
        except BaseException:
            watch.report_beside(item, "call")
            raise
        finally:
            if wrapped:
                assert function is not None
                function.obj = func
            watch.phase = "teardown"
        watch.raise_findings()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, None, None]:
        __tracebackhide__ = _ours
        watch = self.watch
        if watch is None or watch.item is not item:
            return (yield)
        watch.phase = "teardown"
        try:
            try:
                yield
            finally:
                watch.stop_outside()
        except BaseException:
            watch.report_beside(item, "teardown")
            raise
        finally:
            self._unwatch()
        watch.raise_findings()


def _being_cancelled(task: asyncio.Task[Any]) -> bool:
    """Whether *task* has been asked to cancel (3.11+: and has not uncancelled since;
    3.10: and has not had the step that raises it yet)."""
    cancelling = getattr(task, "cancelling", None)
    if cancelling is not None:  # 3.11+
        return bool(cancelling())
    if getattr(task, "_must_cancel", False):  # 3.10: before its first step, or between steps
        return True
    waiter = getattr(task, "_fut_waiter", None)  # 3.10: its cancel() cancelled what it awaits
    return waiter is not None and waiter.cancelled()


def _timeout(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if math.isnan(seconds) or seconds < 0:
        raise pytest.UsageError(
            f"taskwise_cancel_timeout takes a number of seconds, 0 or more, but got {text!r}: "
            f"for example taskwise_cancel_timeout = 5"
        )
    return seconds


_SKIPPED_DIRS = (
    os.path.dirname(asyncio.__file__) + os.sep,
    os.path.dirname(os.path.dirname(__file__)) + os.sep,  # taskwise's own
)


def waiting_at(task: asyncio.Task[Any]) -> str | None:
    """``file:line`` of the innermost ``await`` of a pending *task* in code outside asyncio
    and taskwise (a group's body waiting for its tasks waits in the ``async with`` line)."""
    return await_site(task, skip=_SKIPPED_DIRS, fallback=False)


def relative_to(rootdir: str, site: str) -> str:
    """*site* (a file name, perhaps with ':line') relative to *rootdir*, if inside it."""
    if site.startswith(rootdir + os.sep):
        return site[len(rootdir) + 1 :]
    return site


def _owns_a_loop(value: object) -> bool:
    """Whether a fixture's *value* is an event loop, or an ``asyncio.Runner`` (or its
    backport) holding one."""
    if isinstance(value, asyncio.AbstractEventLoop):
        return True
    return type(value).__name__ == "Runner" and callable(getattr(value, "get_loop", None))


def _ours(info: pytest.ExceptionInfo[BaseException]) -> bool:
    """``__tracebackhide__`` of the plugin's frames: hidden, but for a plain failure
    without a traceback, which pytest shows as its message alone."""
    return not isinstance(info.value, pytest.fail.Exception)


def add_note(exception: BaseException, note: str) -> None:
    """``exception.add_note(note)``, on 3.10 too (where pytest shows ``__notes__`` as well)."""
    notes = getattr(exception, "__notes__", None)
    if not isinstance(notes, list):
        notes = []
        exception.__notes__ = notes  # type: ignore[attr-defined,unused-ignore]
    notes.append(note)


def format_failure(exception: BaseException) -> str:
    """The traceback of *exception*, as Python prints it (for a report section)."""
    return "".join(traceback.format_exception(type(exception), exception, exception.__traceback__))
