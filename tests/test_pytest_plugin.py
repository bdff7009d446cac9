"""The pytest plugin's strict mode, run under the real pytest-asyncio and anyio plugins.

Each scenario is a small test project run by pytester (in this process, so that coverage
sees the plugin), with warnings as errors. Every behaviour is checked with strict mode on,
and -- to show that the plugin is what makes the difference -- with it off.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from taskwise import TaskGroup, spawn
from taskwise._core import _hooks
from taskwise.integrations.pytest_plugin import (
    AllowLeftovers,
    allowed,
    check_patterns,
    relative_to,
)

pytest_plugins = ["pytester"]

INI = """\
[pytest]
asyncio_default_fixture_loop_scope = function
filterwarnings = error
taskwise_cancel_timeout = {timeout}
"""


def project(pytester: pytest.Pytester, code: str, *, timeout: float = 2.0) -> None:
    (pytester.path / "pytest.ini").write_text(INI.format(timeout=timeout), encoding="utf-8")
    (pytester.path / "test_strict_scenario.py").write_text(textwrap.dedent(code), encoding="utf-8")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-W", "error", *args)


def line_of(code: str, marker: str) -> int:
    """The number of the line of *code* (as written to the test module) holding *marker*."""
    lines = textwrap.dedent(code).splitlines()
    (number,) = [n for n, line in enumerate(lines, 1) if marker in line]
    return number


# --- pytest-asyncio, function-scoped loops --------------------------------------------------

ASYNCIO_BASICS = """
    import asyncio

    import pytest

    from taskwise import TaskGroup, spawn

    cancelled: list[str] = []


    async def forever(name: str) -> None:
        try:
            await asyncio.Event().wait()  # waits here
        except asyncio.CancelledError:
            cancelled.append(name)
            raise


    async def crash() -> None:
        await asyncio.sleep(0)
        raise ValueError("boom")


    async def serve() -> None:
        async with TaskGroup("server") as tg:
            tg.spawn(forever("handler"), name="handler")  # child spawned


    @pytest.mark.asyncio
    async def test_leaves_a_task() -> None:
        spawn(forever("poll"), name="poll")  # leak spawned
        await asyncio.sleep(0)


    @pytest.mark.asyncio
    async def test_leaves_a_group() -> None:
        spawn(serve(), name="serving")  # group spawned
        await asyncio.sleep(0.01)


    @pytest.mark.asyncio
    async def test_loses_a_failure() -> None:
        spawn(crash(), name="sender")  # failure spawned
        await asyncio.sleep(0.01)


    @pytest.mark.asyncio
    async def test_clean() -> None:
        assert await spawn(asyncio.sleep(0, "done")) == "done"
        async with TaskGroup("work") as tg:
            tg.spawn(asyncio.sleep(0))


    def test_leftovers_were_cancelled() -> None:
        assert sorted(cancelled) == ["handler", "poll"]
"""


def test_asyncio_leftovers_and_failures_fail_the_test(pytester: pytest.Pytester) -> None:
    project(pytester, ASYNCIO_BASICS)
    result = run(pytester, "--taskwise-strict")
    result.assert_outcomes(passed=2, failed=3)
    code = ASYNCIO_BASICS
    result.stdout.fnmatch_lines(
        [
            "taskwise: strict mode*",
            "*_ test_leaves_a_task _*",
            "test_leaves_a_task left 1 task running (taskwise cancelled it):",
            f"  'poll' (no group), spawned at test_strict_scenario.py:{line_of(code, 'leak spawned')},"
            f" waiting at test_strict_scenario.py:{line_of(code, 'waits here')}",
            "Await or cancel the tasks a test starts before it ends*",
            "*_ test_leaves_a_group _*",
            "test_leaves_a_group left 2 tasks running (taskwise cancelled them):",
            f"  'serving' (no group), spawned at test_strict_scenario.py:{line_of(code, 'group spawned')},"
            f" waiting at test_strict_scenario.py:{line_of(code, 'child spawned') - 1}",
            f"  'server/handler' (group 'server'), spawned at test_strict_scenario.py:"
            f"{line_of(code, 'child spawned')}, waiting at test_strict_scenario.py:"
            f"{line_of(code, 'waits here')}",
            "*_ test_loses_a_failure _*",
            # The task's own traceback, then what the plugin knows of it.
            '>       raise ValueError("boom")',
            "E       ValueError: boom",
            "E       taskwise strict mode: 'sender' (no group), spawned at test_strict_scenario.py:"
            f"{line_of(code, 'failure spawned')}, failed while test_loses_a_failure ran",
        ]
    )
    # The report replaced asyncio's log line: it is told once.
    assert "Captured log call" not in result.stdout.str()
    # And the core's hook is unset again once the run is over.
    assert _hooks.spawn_watcher is None


def test_asyncio_basics_pass_without_strict_mode(pytester: pytest.Pytester) -> None:
    project(pytester, ASYNCIO_BASICS)
    result = run(pytester, "-k", "not cancelled")
    result.assert_outcomes(passed=4)
    assert "taskwise: strict mode" not in result.stdout.str()
    # pytest-asyncio cancels the leftovers silently, and the failure is only logged.
    result.stdout.no_fnmatch_line("*test_leaves_a_task left*")


def test_ini_option_turns_it_on_and_the_flag_off(pytester: pytest.Pytester) -> None:
    project(pytester, ASYNCIO_BASICS)
    ini = INI.format(timeout=2) + "taskwise_strict = true\n"
    (pytester.path / "pytest.ini").write_text(ini, encoding="utf-8")
    run(pytester).assert_outcomes(passed=2, failed=3)
    # Off for one run: the leftovers are not cancelled by taskwise, and nothing fails...
    # but for the check of what was cancelled, which pytest-asyncio does at the loop's end.
    run(pytester, "--no-taskwise-strict", "-k", "not cancelled").assert_outcomes(passed=4)


def test_the_option_off_adds_no_per_test_hooks(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_collection_finish(session):
            manager = session.config.pluginmanager
            assert manager.get_plugin("taskwise-strict") is None
            assert manager.has_plugin("taskwise")
        """
    )
    project(pytester, "def test_nothing() -> None:\n    pass\n")
    run(pytester).assert_outcomes(passed=1)


# --- pytest-asyncio, module and session loops: tests told apart by when tasks started ------

SHARED_LOOP = """
    import asyncio
    from collections.abc import AsyncIterator

    import pytest
    import pytest_asyncio

    from taskwise import TaskGroup, spawn

    pytestmark = pytest.mark.asyncio(loop_scope="{scope}")
    seen: dict[str, asyncio.Task[None]] = {{}}


    async def forever() -> None:
        await asyncio.Event().wait()


    @pytest_asyncio.fixture(loop_scope="{scope}", scope="{scope}")
    async def heartbeat() -> AsyncIterator[asyncio.Task[None]]:
        task = spawn(forever(), name="heartbeat")  # a wider fixture's task: not a test's
        yield task
        task.cancel()


    @pytest_asyncio.fixture(loop_scope="{scope}", scope="{scope}")
    async def doomed() -> asyncio.Event:
        trigger = asyncio.Event()

        async def fail_when_triggered() -> None:
            await trigger.wait()
            raise ValueError("the fixture's task failed")

        spawn(fail_when_triggered(), name="doomed")
        return trigger


    async def test_a_leaks(heartbeat: asyncio.Task[None]) -> None:
        seen["a"] = spawn(forever(), name="a-leak")


    async def test_b_same_loop_clean(heartbeat: asyncio.Task[None]) -> None:
        # a's leftover was cancelled before b started; the fixture's task runs on.
        await asyncio.sleep(0)
        assert seen["a"].cancelled()
        assert not heartbeat.done()
        assert seen["a"].get_loop() is asyncio.get_running_loop()


    async def test_c_a_fixtures_task_fails(doomed: asyncio.Event) -> None:
        doomed.set()
        await asyncio.sleep(0.01)
"""


@pytest.mark.parametrize("scope", ["module", "session"])
def test_module_and_session_loops(pytester: pytest.Pytester, scope: str) -> None:
    project(pytester, SHARED_LOOP.format(scope=scope))
    result = run(pytester, "--taskwise-strict")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "test_a_leaks left 1 task running*",
            "  'a-leak' (no group)*",
            "E       ValueError: the fixture's task failed",
            "E       taskwise strict mode: 'doomed' (no group), spawned before the test "
            "started, failed while test_c_a_fixtures_task_fails ran",
        ]
    )
    result.stdout.no_fnmatch_line("*'heartbeat'*")
    # Without strict mode, a's leftover runs on into b, and c's failure is only logged.
    run(pytester).assert_outcomes(passed=2, failed=1)


FIXTURE_TASKS = """
    import asyncio
    from collections.abc import AsyncIterator

    import pytest
    import pytest_asyncio

    from taskwise import spawn

    pytestmark = pytest.mark.asyncio(loop_scope="{scope}")


    async def forever() -> None:
        await asyncio.Event().wait()


    @pytest_asyncio.fixture(loop_scope="{scope}")
    async def tidy() -> AsyncIterator[None]:
        task = spawn(forever(), name="tidy-worker")
        yield
        task.cancel()
        await asyncio.sleep(0)


    @pytest_asyncio.fixture(loop_scope="{scope}")
    async def sloppy() -> AsyncIterator[None]:
        spawn(forever(), name="sloppy-worker")  # never stopped
        yield


    async def test_with_a_tidy_fixture(tidy: None) -> None:
        await asyncio.sleep(0)


    async def test_with_a_sloppy_fixture(sloppy: None) -> None:
        await asyncio.sleep(0)
"""


@pytest.mark.parametrize("scope", ["function", "module"])
def test_function_scoped_fixtures_tasks_are_looked_at_after_teardown(
    pytester: pytest.Pytester, scope: str
) -> None:
    project(pytester, FIXTURE_TASKS.format(scope=scope))
    result = run(pytester, "--taskwise-strict")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_with_a_sloppy_fixture*",
            "test_with_a_sloppy_fixture left 1 task running*",
            f"  'sloppy-worker' (no group), spawned at test_strict_scenario.py:"
            f"{line_of(FIXTURE_TASKS, 'never stopped')} (in the test's setup)*",
        ]
    )
    result.stdout.no_fnmatch_line("*tidy-worker*")
    run(pytester).assert_outcomes(passed=2)


# --- allowed leftovers: a session fixture's server -----------------------------------------

SERVER = """
    import asyncio
    from collections.abc import AsyncIterator

    import pytest
    import pytest_asyncio

    from taskwise import TaskGroup
    from taskwise.integrations.pytest_plugin import AllowLeftovers

    pytestmark = pytest.mark.asyncio(loop_scope="session")


    class Server:
        def __init__(self, tg: TaskGroup) -> None:
            self.tg = tg

        def request(self) -> None:
            self.tg.spawn(asyncio.sleep(0.05), name="handler")  # outlives the test


    @pytest_asyncio.fixture(loop_scope="session", scope="session")
    async def server(taskwise_allow_leftovers: AllowLeftovers) -> AsyncIterator[Server]:
        async with TaskGroup("server") as tg:
            with taskwise_allow_leftovers({allowed}):
                yield Server(tg)


    async def test_request(server: Server) -> None:
        server.request()


    @pytest.mark.taskwise_allow_leftovers("server/handler")
    async def test_marked(server: Server) -> None:
        server.request()


    async def test_last(server: Server) -> None:
        await asyncio.sleep(0.1)
"""


def test_a_fixture_allows_a_servers_leftovers(pytester: pytest.Pytester) -> None:
    project(pytester, SERVER.format(allowed='"server"'))
    run(pytester, "--taskwise-strict").assert_outcomes(passed=3)


def test_a_marker_allows_leftovers(pytester: pytest.Pytester) -> None:
    project(pytester, SERVER.format(allowed='"elsewhere/*"'))
    result = run(pytester, "--taskwise-strict")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_request left 1 task running*",
            "  'server/handler' (group 'server'), spawned at test_strict_scenario.py:"
            f"{line_of(SERVER, 'outlives the test')}*",
        ]
    )


BAD_MARKERS = """
    import pytest


    @pytest.mark.taskwise_allow_leftovers("/server/")
    def test_slashes() -> None:
        pass


    @pytest.mark.taskwise_allow_leftovers
    def test_no_pattern() -> None:
        pass


    @pytest.mark.taskwise_allow_leftovers(["a", "b"])
    def test_a_list() -> None:
        pass
"""


def test_markers_that_never_match_are_refused(pytester: pytest.Pytester) -> None:
    project(pytester, BAD_MARKERS)
    result = run(pytester, "--taskwise-strict")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines_random(
        [
            "*test_slashes: @pytest.mark.taskwise_allow_leftovers(...) got '/server/', which "
            "can never match*Did you mean 'server' (or 'server/*')?",
            "*test_no_pattern: *needs at least one pattern*('*') allows every leftover.",
            "*test_a_list: *takes patterns as strings, but got *: pass the patterns "
            "one by one: taskwise_allow_leftovers('a', 'b').",
        ]
    )
    # The marker is registered either way (--strict-markers accepts it).
    run(pytester, "--strict-markers").assert_outcomes(passed=3)


@pytest.mark.parametrize(
    ("patterns", "error"),
    [
        ((), "at least one pattern"),
        (("",), "which no task name or group path matches"),
        ((" server",), "without the spaces: 'server'"),
        (("^server$",), "looks like a regular expression"),
        (("server//a",), "Did you mean 'server/a'"),
        (("server/",), "Did you mean 'server'"),
        ((3,), "takes patterns as strings, but got 3: a pattern is text"),
    ],
)
def test_check_patterns_refuses_what_never_matches(
    patterns: tuple[object, ...], error: str
) -> None:
    with pytest.raises((TypeError, ValueError), match=None) as info:
        check_patterns(patterns, "where")
    assert error in str(info.value)


def test_patterns_match_names_and_enclosing_group_paths() -> None:
    assert allowed("server/handler-1", "server", ["server"])
    assert allowed("fetch", "server/conn", ["server"])  # an enclosing group
    assert allowed("fetch", "server/conn", ["server/*"])
    assert allowed("heartbeat", "", ["heart*"])  # a name
    assert allowed("anything", "", ["*"])
    assert not allowed("fetch", "client", ["server"])
    assert not allowed("fetch", "serverless", ["server"])


def test_the_fixture_allows_while_its_block_runs() -> None:
    active: list[tuple[str, ...]] = []
    allow = AllowLeftovers(active)
    block = allow("server")
    assert active == []  # not until it is entered
    with block:
        assert active == [("server",)]
    assert active == []
    assert "AllowLeftovers" in repr(allow)
    with pytest.raises(TypeError, match="one by one"):
        allow(["a"])  # type: ignore[arg-type]


# --- anyio's plugin -------------------------------------------------------------------------

ANYIO = """
    import asyncio
    from collections.abc import AsyncIterator

    import pytest

    from taskwise import spawn

    pytestmark = pytest.mark.anyio


    @pytest.fixture(scope="module")
    def anyio_backend() -> str:
        return "asyncio"


    async def forever() -> None:
        await asyncio.Event().wait()


    async def crash() -> None:
        await asyncio.sleep(0)
        raise ValueError("boom")


    @pytest.fixture(scope="module")
    async def shared() -> AsyncIterator[asyncio.Task[None]]:
        task = spawn(forever(), name="shared")  # runs across the module's tests
        yield task
        task.cancel()


    @pytest.fixture
    async def sloppy() -> AsyncIterator[None]:
        spawn(forever(), name="sloppy")  # never stopped
        yield


    async def test_leaves_a_task(shared: asyncio.Task[None]) -> None:
        spawn(forever(), name="poll")


    async def test_with_a_sloppy_fixture(shared: asyncio.Task[None], sloppy: None) -> None:
        pass


    async def test_loses_a_failure(shared: asyncio.Task[None]) -> None:
        spawn(crash(), name="sender")  # failure spawned
        await asyncio.sleep(0.01)


    async def test_clean(shared: asyncio.Task[None]) -> None:
        assert not shared.done()
        await spawn(asyncio.sleep(0))


    async def test_other_reports_reach_anyio() -> None:
        asyncio.get_running_loop().call_exception_handler(
            {"message": "not taskwise's", "exception": KeyError("k")}
        )
        await asyncio.sleep(0)
"""


def test_anyio(pytester: pytest.Pytester) -> None:
    project(pytester, ANYIO)
    result = run(pytester, "--taskwise-strict")
    result.assert_outcomes(passed=2, failed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            # The module-scoped fixture keeps anyio's loop open: a function-scoped fixture's
            # leftover is found after the teardown.
            "*ERROR at teardown of test_with_a_sloppy_fixture*",
            f"  'sloppy' (no group), spawned at test_strict_scenario.py:"
            f"{line_of(ANYIO, 'never stopped')} (in the test's setup)*",
            "test_leaves_a_task left 1 task running*",
            "  'poll' (no group)*",
            "E       ValueError: boom",
            "E       taskwise strict mode: 'sender' (no group), spawned at test_strict_scenario.py:"
            f"{line_of(ANYIO, 'failure spawned')}, failed while test_loses_a_failure ran",
            # anyio's own handler still fails the test on other reports.
            "FAILED test_strict_scenario.py::test_other_reports_reach_anyio - KeyError: 'k'",
        ]
    )
    result.stdout.no_fnmatch_line("*'shared'*")
    # Without strict mode anyio fails the lost failure (and the other report), not the leak.
    run(pytester).assert_outcomes(passed=3, failed=2)


CANCELLED_BY_THE_TEST = """
    import asyncio

    import pytest
    import pytest_asyncio

    from taskwise import spawn


    async def forever() -> None:
        await asyncio.Event().wait()


    async def beat() -> None:
        try:
            while True:
                await asyncio.sleep(0.001)
        finally:
            await asyncio.sleep(0)  # cleanup that takes a loop iteration


    @pytest_asyncio.fixture
    async def heartbeat():
        task = spawn(beat(), name="heartbeat")
        yield
        task.cancel()  # stopped, not awaited


    @pytest.mark.asyncio
    async def test_cancels_at_its_end() -> None:
        task = spawn(forever(), name="poller")
        await asyncio.sleep(0)
        task.cancel()  # its last line


    @pytest.fixture
    def anyio_backend() -> str:
        return "asyncio"


    @pytest.mark.anyio
    async def test_cancels_at_its_end_under_anyio() -> None:
        task = spawn(forever(), name="poller")
        await asyncio.sleep(0)
        task.cancel()


    @pytest.mark.asyncio
    async def test_with_a_fixture_that_cancels(heartbeat: None) -> None:
        await asyncio.sleep(0.01)

"""

ON_TRIO = """
    import anyio
    import pytest


    @pytest.fixture(params=["asyncio", "trio"])
    def anyio_backend(request: pytest.FixtureRequest) -> str:
        return request.param


    @pytest.mark.anyio
    async def test_under_anyio_on_both_backends() -> None:
        await anyio.sleep(0)
"""


def test_tasks_the_test_cancelled_and_other_async_libraries_are_no_failures(
    pytester: pytest.Pytester,
) -> None:
    # A task cancelled by the test's last line or a fixture's teardown has not run since;
    # a test anyio runs under trio has no asyncio loop to look at.
    project(pytester, CANCELLED_BY_THE_TEST)
    (pytester.path / "test_on_trio.py").write_text(textwrap.dedent(ON_TRIO), encoding="utf-8")
    run(pytester, "--taskwise-strict").assert_outcomes(passed=5)


EAGER_FAILURE = """
    import asyncio

    import pytest

    from taskwise import spawn


    async def boom_now() -> None:
        raise ValueError("boom-now")  # in its first step, inside spawn() on 3.12+


    @pytest.mark.asyncio
    async def test_eager_failure() -> None:
        spawn(boom_now(), name="bek", eager=True)  # spawned here
        await asyncio.sleep(0.01)
"""


def test_a_failure_in_an_eager_first_step_names_where_it_was_spawned(
    pytester: pytest.Pytester,
) -> None:
    project(pytester, EAGER_FAILURE)
    result = run(pytester, "--taskwise-strict")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       taskwise strict mode: 'bek' (no group), spawned at test_strict_scenario.py:"
            f"{line_of(EAGER_FAILURE, 'spawned here')}, failed while test_eager_failure ran",
        ]
    )


WIDE_FIXTURE_TEARDOWN = """
    import asyncio

    import pytest
    import pytest_asyncio

    from taskwise import spawn

    pytestmark = pytest.mark.asyncio(loop_scope="session")


    async def flush() -> None:
        await asyncio.sleep(0.05)


    @pytest_asyncio.fixture(loop_scope="session", scope="module")
    async def module_fixture():
        yield
        spawn(flush(), name="module-flush")  # the fixture's own, in its teardown


    @pytest_asyncio.fixture(loop_scope="session", scope="class")
    async def class_fixture():
        yield
        spawn(flush(), name="class-flush")


    async def test_uses_the_module_fixture(module_fixture: None) -> None:
        await asyncio.sleep(0)


    class TestUsesTheClassFixture:
        async def test_one(self, class_fixture: None) -> None:
            await asyncio.sleep(0)

        async def test_two(self, class_fixture: None) -> None:
            await asyncio.sleep(0)
"""

LATER_ON_THE_SAME_LOOP = """
    import asyncio

    import pytest

    pytestmark = pytest.mark.asyncio(loop_scope="session")


    async def test_later() -> None:
        await asyncio.sleep(0.1)
"""


def test_what_a_wider_fixture_spawns_in_its_teardown_is_no_tests(
    pytester: pytest.Pytester,
) -> None:
    project(pytester, WIDE_FIXTURE_TEARDOWN)
    later = textwrap.dedent(LATER_ON_THE_SAME_LOOP)
    (pytester.path / "test_zz_later.py").write_text(later, encoding="utf-8")
    run(pytester, "--taskwise-strict").assert_outcomes(passed=4)


NESTED_RUN = """
    import asyncio

    import pytest

    from taskwise import spawn

    pytest_plugins = ["pytester"]


    async def forever() -> None:
        await asyncio.Event().wait()


    @pytest.mark.asyncio
    async def test_leaks_after_an_inner_run(pytester: pytest.Pytester) -> None:
        pytester.makeini("[pytest]\\nasyncio_default_fixture_loop_scope = function\\n")
        pytester.makepyfile("def test_inner(): pass")
        inner = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--taskwise-strict")
        inner.assert_outcomes(passed=1)
        spawn(forever(), name="outer-leak")  # this test's, after the inner run
"""


def test_an_inner_strict_run_hands_the_outer_test_back(pytester: pytest.Pytester) -> None:
    project(pytester, NESTED_RUN)
    result = run(pytester, "--taskwise-strict")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_leaks_after_an_inner_run left 1 task running*"])


# --- the rest of the behaviour --------------------------------------------------------------

EDGES = """
    import asyncio
    import types
    from collections.abc import AsyncIterator, Generator, Iterator
    from typing import Any

    import pytest
    import pytest_asyncio

    from taskwise import spawn


    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(1)  # a cleanup slower than the timeout
            raise


    async def fails_when_cancelled() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None


    async def forever() -> None:
        await asyncio.Event().wait()


    async def crash() -> None:
        raise ValueError("boom")


    async def hydra(depth: int) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if depth < 3:  # respawns itself when cancelled, three times
                spawn(hydra(depth + 1), name=f"hydra-{depth + 1}")
            raise


    @types.coroutine
    def bare_yield() -> Generator[None, None, None]:
        yield  # the innermost await: a generator-based coroutine's


    async def spinning() -> None:
        while True:
            await bare_yield()


    @pytest.fixture
    def own_loop() -> Iterator[asyncio.AbstractEventLoop]:
        loop = asyncio.new_event_loop()
        yield loop
        loop.close()


    @pytest.fixture
    def broken() -> Iterator[None]:
        yield
        raise RuntimeError("the fixture's teardown broke")


    @pytest.mark.asyncio
    async def test_stubborn() -> None:
        spawn(stubborn(), name="stubborn")
        await asyncio.sleep(0)


    @pytest.mark.asyncio
    async def test_cleanup_fails() -> None:
        spawn(fails_when_cancelled(), name="fragile")
        await asyncio.sleep(0)


    @pytest.mark.asyncio
    async def test_fails_anyway() -> None:
        spawn(forever(), name="poll")
        spawn(crash(), name="one")
        spawn(crash(), name="two")
        await asyncio.sleep(0.01)
        assert False, "the test's own failure"


    @pytest.mark.asyncio
    async def test_two_failures() -> None:
        spawn(crash(), name="one")  # first of two
        spawn(crash(), name="two")
        await asyncio.sleep(0.01)


    @pytest.mark.asyncio
    async def test_own_handler_takes_the_reports() -> None:
        reports: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: reports.append(context))
        spawn(crash(), name="expected")
        await asyncio.sleep(0.01)
        assert [r["task"].get_name() for r in reports] == ["expected"]


    @pytest_asyncio.fixture
    async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
        loop = asyncio.get_running_loop()
        errors: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda loop, context: errors.append(context))
        yield errors
        loop.set_exception_handler(None)


    @pytest.mark.asyncio
    async def test_a_fixtures_handler_takes_the_reports(
        loop_errors: list[dict[str, Any]],
    ) -> None:
        spawn(crash(), name="expected")
        await asyncio.sleep(0.01)
        assert [r["task"].get_name() for r in loop_errors] == ["expected"]


    @pytest.mark.asyncio
    async def test_other_reports_are_passed_on(caplog: pytest.LogCaptureFixture) -> None:
        asyncio.get_running_loop().call_exception_handler({"message": "not taskwise's"})
        assert "not taskwise's" in caplog.text


    @pytest.mark.asyncio
    async def test_skipped_midway() -> None:
        spawn(forever(), name="skipped-poll")
        pytest.skip("not today")


    def test_sync_test_with_its_own_loop(own_loop: asyncio.AbstractEventLoop) -> None:
        async def start() -> None:
            spawn(forever(), name="orphan")  # its own loop

        own_loop.run_until_complete(start())


    @pytest.mark.asyncio
    async def test_another_loop(own_loop: asyncio.AbstractEventLoop) -> None:
        async def start() -> None:
            spawn(forever(), name="elsewhere")

        await asyncio.to_thread(own_loop.run_until_complete, start())


    def test_a_closed_loop(broken: None) -> None:
        loop = asyncio.new_event_loop()

        async def start() -> None:
            spawn(forever(), name="stranded")

        loop.run_until_complete(start())
        loop.close()  # nothing can stop the task now: not looked at


    @pytest.mark.asyncio
    async def test_hydra() -> None:
        spawn(hydra(0), name="hydra-0")
        await asyncio.sleep(0)


    @pytest.mark.asyncio
    async def test_spinning() -> None:
        spawn(spinning(), name="spinning")
        await asyncio.sleep(0)


    @pytest.mark.asyncio
    async def test_one_failure_and_a_leftover() -> None:
        spawn(forever(), name="poll")
        spawn(crash(), name="one")
        await asyncio.sleep(0.01)


    @pytest.mark.asyncio
    async def test_one_failure_when_failing_anyway() -> None:
        spawn(crash(), name="one")
        await asyncio.sleep(0.01)
        raise KeyError("the test's own")
"""


def test_edges(pytester: pytest.Pytester) -> None:
    project(pytester, EDGES, timeout=0.2)
    result = run(pytester, "--taskwise-strict", "-rs")
    result.assert_outcomes(passed=6, failed=8, skipped=1, errors=4)
    result.stdout.fnmatch_lines_random(
        [
            "*'stubborn' was still running 0.2 s after it was cancelled, and was left running",
            "E * RuntimeError: cleanup failed",
            "E * taskwise strict mode: 'fragile', left running by test_cleanup_fails, "
            "failed when it was cancelled",
            # A test that fails anyway keeps its own error; what the plugin found is beside it.
            "E       AssertionError: the test's own failure",
            "*- Captured taskwise call -*",
            "test_fails_anyway: 2 spawned tasks failed, and nobody could read their exceptions:",
            "test_fails_anyway left 1 task running*",
            "test_one_failure_when_failing_anyway: a spawned task failed, and nobody could "
            "read its exception:",
            # Two failures: a group of the tasks' own exceptions, each with its note.
            "*ExceptionGroup: test_two_failures: 2 spawned tasks failed, and nobody could read "
            "their exceptions (2 sub-exceptions)",
            "*| taskwise strict mode: 'one' (no group), spawned at test_strict_scenario.py:"
            f"{line_of(EDGES, 'first of two')}, failed while test_two_failures ran",
            # One failure and a leftover: the note on the failure names both.
            "E       taskwise strict mode: 'one' (no group), spawned at *, failed while "
            "test_one_failure_and_a_leftover ran",
            "E       test_one_failure_and_a_leftover left 1 task running*",
            # Tasks on loops other than the test's: looked at after the teardown.
            "*ERROR at teardown of test_sync_test_with_its_own_loop*",
            f"  'orphan' (no group), spawned at test_strict_scenario.py:{line_of(EDGES, 'its own loop')}, *",
            "*ERROR at teardown of test_another_loop*",
            "  'elsewhere' (no group), spawned at *",
            # What the cleanup of leftovers spawns is stopped too, after three rounds later.
            "test_hydra left 3 tasks running*",
            "*ERROR at teardown of test_hydra*",
            "  'hydra-3' (no group)*",
            f"  'spinning' (no group), spawned at *, waiting at test_strict_scenario.py:"
            f"{line_of(EDGES, 'the innermost await')}",
            # A fixture's teardown that breaks keeps its error.
            "*ERROR at teardown of test_a_closed_loop*",
            "E       RuntimeError: the fixture's teardown broke",
        ]
    )
    result.stdout.no_fnmatch_line("*stranded*")
    # The skipped test's leftover was cancelled too, silently: the skip stands.
    result.stdout.no_fnmatch_line("*skipped-poll*")


@pytest.mark.parametrize("timeout", ["-1", "soon"])
def test_a_bad_cancel_timeout_is_a_usage_error(pytester: pytest.Pytester, timeout: str) -> None:
    project(pytester, "def test_nothing() -> None:\n    pass\n")
    ini = (pytester.path / "pytest.ini").read_text(encoding="utf-8")
    ini = ini.replace("taskwise_cancel_timeout = 2.0", f"taskwise_cancel_timeout = {timeout}")
    (pytester.path / "pytest.ini").write_text(ini, encoding="utf-8")
    result = run(pytester, "--taskwise-strict")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*taskwise_cancel_timeout takes a number of seconds*{timeout}*"])


def test_sites_are_shown_relative_to_the_rootdir() -> None:
    assert relative_to("/project", "/project/tests/test_x.py:3") == "tests/test_x.py:3"
    assert relative_to("/project", "/elsewhere/lib.py:9") == "/elsewhere/lib.py:9"
    assert relative_to("/project", "/projectile/x.py:1") == "/projectile/x.py:1"


@pytest.mark.anyio
async def test_the_core_tells_the_watcher_of_each_task_it_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, str]] = []

    def watcher(task: asyncio.Task[Any], path: str) -> None:
        seen.append((task.get_name(), path))

    monkeypatch.setattr(_hooks, "spawn_watcher", watcher)
    async with TaskGroup("outer") as tg:
        tg.spawn(asyncio.sleep(0), name="child")
        spawn(asyncio.sleep(0), name="inside")
    await spawn(asyncio.sleep(0), name="outside")
    assert seen == [("outer/child", "outer"), ("inside", "outer"), ("outside", "")]


def test_import_taskwise_imports_neither_pytest_nor_the_plugin() -> None:
    code = (
        "import sys, taskwise, taskwise.observe\n"
        "assert 'pytest' not in sys.modules, 'import taskwise imported pytest'\n"
        "assert 'taskwise.integrations' not in sys.modules, 'it imported the integrations'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
