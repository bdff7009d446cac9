"""taskwise.integrations.otel, against the real OpenTelemetry SDK (in-memory reader and exporter)."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import taskwise
import taskwise.observe as observe
from taskwise import TaskGroup, spawn
from taskwise.integrations import otel

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

pytestmark = pytest.mark.anyio


class Telemetry:
    """A meter provider and a tracer provider of the SDK, read in memory."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader], shutdown_on_exit=False)
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(shutdown_on_exit=False)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def instrument(self, **options: Any) -> None:
        otel.instrument(
            meter_provider=self.meter_provider, tracer_provider=self.tracer_provider, **options
        )

    def metrics(self) -> dict[str, dict[tuple[tuple[str, Any], ...], Any]]:
        """{instrument name: {sorted attributes: value}} of one collection."""
        found: dict[str, dict[tuple[tuple[str, Any], ...], Any]] = {}
        data = self.reader.get_metrics_data()
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                assert scope.scope.name == "taskwise"
                for metric in scope.metrics:
                    points = found.setdefault(metric.name, {})
                    for point in metric.data.data_points:
                        key = tuple(sorted(point.attributes.items()))  # type: ignore[union-attr]
                        points[key] = getattr(point, "value", point)
        return found

    def spans(self) -> dict[str, ReadableSpan]:
        return {span.name: span for span in self.exporter.get_finished_spans()}

    def close(self) -> None:
        self.meter_provider.shutdown()
        self.tracer_provider.shutdown()


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    observe.disable()
    found = Telemetry()
    try:
        yield found
    finally:
        otel.uninstrument()
        observe.disable()
        found.close()


def attrs(coroutine: str, path: str = "", **more: str) -> tuple[tuple[str, Any], ...]:
    found = {"taskwise.task.coroutine": coroutine, **more}
    if path:
        found["taskwise.group.path"] = path
    return tuple(sorted(found.items()))


async def iterations(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def fetch(n: int) -> int:
    await asyncio.sleep(0)
    return n


async def boom() -> None:
    await asyncio.sleep(0)
    raise ValueError("boom")


def quiet_loop() -> None:
    asyncio.get_running_loop().set_exception_handler(lambda _l, _c: None)


# --- metrics -------------------------------------------------------------------------------


async def test_metrics_count_by_group_path_and_coroutine_never_by_task_name(
    telemetry: Telemetry,
) -> None:
    quiet_loop()
    telemetry.instrument()
    gate = asyncio.get_running_loop().create_future()
    for n in range(3):
        spawn(fetch(n), name=f"fetch-{n}")
    spawn(boom())
    parked = spawn(gate_wait(gate))
    with pytest.raises(ExceptionGroup):
        async with TaskGroup("crawl") as tg:
            for n in range(5):
                tg.spawn(fetch(n))  # "crawl/fetch-1" ... "crawl/fetch-5"
            tg.spawn(asyncio.sleep(10))
            tg.spawn(boom())
    await iterations(5)
    found = telemetry.metrics()

    finished = found["taskwise.task.finished"]
    assert finished[attrs("fetch", **{"taskwise.task.outcome": "ok"})] == 3
    assert finished[attrs("boom", **{"taskwise.task.outcome": "failed"})] == 1
    assert finished[attrs("fetch", "crawl", **{"taskwise.task.outcome": "ok"})] == 5
    assert finished[attrs("sleep", "crawl", **{"taskwise.task.outcome": "cancelled"})] == 1
    assert finished[attrs("boom", "crawl", **{"taskwise.task.outcome": "failed"})] == 1
    # Bounded attributes: no task's own name anywhere.
    values = {value for key in finished for _, value in key}
    assert not any(v.startswith(("fetch-", "crawl/")) for v in values), values

    running = found["taskwise.task.running"]
    assert running[attrs("gate_wait")] == 1
    assert running[attrs("fetch")] == 0
    assert found["taskwise.task.time"][attrs("fetch", "crawl")] >= 0

    buckets = {
        dict(key)["le"]: value
        for key, value in found["taskwise.task.duration.bucket"].items()
        if dict(key)["taskwise.task.coroutine"] == "fetch" and "taskwise.group.path" in dict(key)
    }
    assert buckets["+Inf"] == 5
    assert list(buckets.values()) == sorted(buckets.values())  # cumulative
    assert "taskwise.task.duration" not in found  # the per-task histogram is opt-in

    gate.set_result(None)
    await parked
    await iterations(4)
    running = telemetry.metrics()["taskwise.task.running"]
    assert running[attrs("gate_wait")] == 0


async def gate_wait(fut: asyncio.Future[None]) -> None:
    await fut


async def test_metrics_cost_nothing_per_task_only_a_read_per_collection(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    totals = observe._totals

    def counted() -> Any:
        reads.append(1)
        return totals()

    monkeypatch.setattr(observe, "_totals", counted)
    telemetry.instrument()
    for n in range(200):
        spawn(fetch(n))
    async with TaskGroup("g") as tg:
        for n in range(200):
            tg.spawn(fetch(n))
    await iterations(5)
    assert reads == []
    telemetry.metrics()
    assert len(reads) == 4  # one read per instrument, per collection


async def test_instruments_have_units_and_descriptions(telemetry: Telemetry) -> None:
    telemetry.instrument()
    spawn(fetch(1))
    await iterations(4)
    data = telemetry.reader.get_metrics_data()
    assert data is not None
    metrics = {m.name: m for m in data.resource_metrics[0].scope_metrics[0].metrics}
    units = {name: m.unit for name, m in metrics.items()}
    assert units == {
        "taskwise.task.running": "{task}",
        "taskwise.task.finished": "{task}",
        "taskwise.task.time": "s",
        "taskwise.task.duration.bucket": "{task}",
    }
    assert all(m.description for m in metrics.values())


async def test_the_duration_histogram_is_opt_in_and_records_each_task(
    telemetry: Telemetry,
) -> None:
    telemetry.instrument(duration_histogram=True)
    for n in range(4):
        spawn(fetch(n))
    async with TaskGroup("g") as tg:
        tg.spawn(fetch(9))
    await iterations(5)
    async with TaskGroup("server"):
        spawn(fetch(7))  # spawned inside a named group: counted under its path
        spawn(asyncio.sleep(0))
    await iterations(5)
    histogram = telemetry.metrics()["taskwise.task.duration"]
    assert histogram[attrs("fetch")].count == 4
    assert histogram[attrs("fetch", "g")].count == 1
    assert histogram[attrs("fetch", "server")].count == 1
    assert histogram[attrs("sleep", "server")].count == 1
    bounds = tuple(histogram[attrs("fetch")].explicit_bounds)
    assert bounds == (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0)


async def done_at_once(n: int) -> int:
    return n


async def test_the_duration_histogram_records_tasks_done_in_an_eager_first_step(
    telemetry: Telemetry,
) -> None:
    telemetry.instrument(duration_histogram=True)
    for n in range(3):
        spawn(done_at_once(n), eager=True)  # (done inside spawn() on 3.12+)
    spawn(done_at_once(3), eager=True, name="named by hand")
    await iterations(5)
    histogram = telemetry.metrics()["taskwise.task.duration"]
    assert histogram[attrs("done_at_once")].count == 4


async def test_instrument_twice_is_harmless_and_uninstrument_stops_reporting(
    telemetry: Telemetry,
) -> None:
    telemetry.instrument()
    telemetry.instrument()  # the same again: nothing changes
    assert otel.is_instrumented()
    spawn(fetch(1))
    await iterations(4)
    assert (
        telemetry.metrics()["taskwise.task.finished"][
            attrs("fetch", **{"taskwise.task.outcome": "ok"})
        ]
        == 1
    )
    otel.uninstrument()
    otel.uninstrument()  # twice: harmless
    assert not otel.is_instrumented()
    assert not observe.is_enabled()  # instrument() turned it on, so this turns it off
    assert telemetry.metrics() == {}
    # On again, with the same provider: its instruments report again.
    telemetry.instrument()
    spawn(fetch(2))
    await iterations(4)
    finished = telemetry.metrics()["taskwise.task.finished"]
    assert finished[attrs("fetch", **{"taskwise.task.outcome": "ok"})] == 1  # counted afresh


async def test_instrument_again_after_observation_was_restarted_reattaches(
    telemetry: Telemetry,
) -> None:
    telemetry.instrument()
    observe.disable()  # this stops the integration too ...
    observe.enable()
    assert observe.is_enabled()
    telemetry.instrument()  # ... and the same call starts it again
    async with TaskGroup("g"):
        pass
    assert list(telemetry.spans()) == ["TaskGroup g"]


async def test_only_the_latest_provider_reports(telemetry: Telemetry) -> None:
    telemetry.instrument()
    other = Telemetry()
    try:
        other.instrument()
        spawn(fetch(1))
        await iterations(4)
        assert telemetry.metrics() == {}
        assert "taskwise.task.finished" in other.metrics()
    finally:
        other.close()


async def test_observation_the_user_turned_on_stays_on(telemetry: Telemetry) -> None:
    observe.enable()
    telemetry.instrument()
    otel.uninstrument()
    assert observe.is_enabled()


def test_options_must_be_bools() -> None:
    with pytest.raises(TypeError, match=r"instrument\(task_spans=\) takes True or False"):
        otel.instrument(task_spans="yes")  # type: ignore[arg-type]
    assert not otel.is_instrumented()


# --- group spans ---------------------------------------------------------------------------


async def test_a_group_span_counts_its_children_and_carries_the_cause(
    telemetry: Telemetry,
) -> None:
    telemetry.instrument()
    with pytest.raises(ExceptionGroup):
        async with TaskGroup("crawl") as tg:
            for n in range(3):
                tg.spawn(fetch(n))
            tg.spawn(asyncio.sleep(10))
            tg.spawn(boom())
    span = telemetry.spans()["TaskGroup crawl"]
    assert span.attributes is not None
    assert dict(span.attributes) == {
        "taskwise.group.path": "crawl",
        "taskwise.group.name": "crawl",
        "taskwise.group.children.started": 5,
        "taskwise.group.children.failed": 1,
        "taskwise.group.children.cancelled": 1,
        "taskwise.group.outcome": "failed",
    }
    assert span.status.status_code is StatusCode.ERROR
    cancelled, exception = span.events
    assert cancelled.name == "taskwise.group.cancelled"
    assert cancelled.attributes == {
        "taskwise.group.cancel.cause": "its task 'crawl/boom-5' failed with ValueError"
    }
    assert exception.name == "exception"


async def test_a_cancelled_group_and_nested_groups(telemetry: Telemetry) -> None:
    telemetry.instrument()
    async with TaskGroup("outer"), TaskGroup("inner") as inner:
        inner.spawn(asyncio.sleep(10))
        await asyncio.sleep(0)
        inner.cancel()
    async with TaskGroup():
        pass
    spans = telemetry.spans()
    inner_span, outer_span = spans["TaskGroup outer/inner"], spans["TaskGroup outer"]
    assert inner_span.attributes is not None
    assert inner_span.attributes["taskwise.group.outcome"] == "cancelled"
    assert inner_span.attributes["taskwise.group.children.cancelled"] == 1
    assert inner_span.status.status_code is StatusCode.UNSET
    (event,) = inner_span.events
    assert event.attributes == {"taskwise.group.cancel.cause": "cancel() was called in its body"}
    assert inner_span.parent is not None
    assert inner_span.parent.span_id == outer_span.context.span_id
    assert outer_span.attributes is not None
    assert outer_span.attributes["taskwise.group.outcome"] == "ok"
    unnamed = spans["TaskGroup"]
    assert unnamed.attributes is not None
    assert "taskwise.group.name" not in unnamed.attributes


async def test_a_group_span_is_current_in_the_block_and_only_there(telemetry: Telemetry) -> None:
    telemetry.instrument()
    before = trace.get_current_span()
    async with TaskGroup("g"):
        inside = trace.get_current_span()
    assert trace.get_current_span() is before
    assert inside is not before
    assert inside.get_span_context().span_id == telemetry.spans()["TaskGroup g"].context.span_id


async def test_group_spans_can_be_turned_off(telemetry: Telemetry) -> None:
    telemetry.instrument(group_spans=False)
    async with TaskGroup("g") as tg:
        tg.spawn(fetch(1))
    assert telemetry.spans() == {}


async def test_task_spans_alone(telemetry: Telemetry) -> None:
    telemetry.instrument(metrics=False, group_spans=False, task_spans=True)
    async with TaskGroup("g") as tg:
        tg.spawn(fetch(1))
    spans = telemetry.spans()
    assert list(spans) == ["fetch"]
    assert spans["fetch"].parent is None
    assert telemetry.metrics() == {}


async def test_task_spans_start_with_the_next_child_after_instrument(
    telemetry: Telemetry,
) -> None:
    # The children spawned in one loop iteration share a start time, which the loop
    # keeps; instrument() makes the next child, in the same iteration, ask again.
    observe.enable()
    async with TaskGroup("g") as tg:
        tg.spawn(fetch(1), name="before")
        telemetry.instrument(metrics=False, group_spans=False, task_spans=True)
        tg.spawn(fetch(2), name="after")
    spans = telemetry.exporter.get_finished_spans()
    assert [span.attributes["taskwise.task.name"] for span in spans] == ["g/after"]  # type: ignore[index]


async def test_without_task_spans_tasks_are_created_as_usual(
    telemetry: Telemetry, loop_kind: str
) -> None:
    telemetry.instrument()  # group spans: the observer has a tracer, which makes no task spans
    assert await spawn(fetch(1), eager=True) == 1
    assert await spawn(fetch(2)) == 2
    if sys.version_info >= (3, 11):
        assert await spawn(fetch(3), context=contextvars.copy_context()) == 3
    await iterations(4)
    assert telemetry.spans() == {}


# --- task spans ----------------------------------------------------------------------------


async def whoami() -> tuple[int, Any]:
    await asyncio.sleep(0)
    task = asyncio.current_task()
    assert task is not None
    return trace.get_current_span().get_span_context().span_id, task.get_coro()


async def test_a_task_span_is_current_inside_the_task_and_the_coroutine_is_not_wrapped(
    telemetry: Telemetry,
) -> None:
    telemetry.instrument(task_spans=True)
    coro = whoami()
    task = spawn(coro, name="me")
    span_id, seen_coro = await task
    assert task.get_coro() is coro
    assert seen_coro is coro
    assert task.get_name() == "me"
    await iterations(4)
    span = telemetry.spans()["whoami"]
    assert span.context.span_id == span_id
    assert span.attributes is not None
    assert dict(span.attributes) == {
        "taskwise.task.coroutine": "whoami",
        "taskwise.task.name": "me",
        "taskwise.task.outcome": "ok",
    }
    # The caller's context is untouched.
    assert trace.get_current_span().get_span_context().span_id != span_id


async def test_task_spans_nest_under_their_group_and_failures_are_errors(
    telemetry: Telemetry,
) -> None:
    quiet_loop()
    telemetry.instrument(task_spans=True)
    with pytest.raises(ExceptionGroup):
        async with TaskGroup("crawl") as tg:
            child = tg.spawn(whoami())
            tg.spawn(boom())
            await child
    spans = telemetry.spans()
    group = spans["TaskGroup crawl"]
    for name in ("whoami", "boom"):
        assert spans[name].parent is not None
        assert spans[name].parent.span_id == group.context.span_id  # type: ignore[union-attr]
    failed = spans["boom"]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "ValueError: boom"
    assert [e.name for e in failed.events] == ["exception"]
    assert failed.attributes is not None
    assert failed.attributes["taskwise.group.path"] == "crawl"
    assert failed.attributes["taskwise.task.name"] == "crawl/boom-2"


async def test_a_spawned_failure_is_still_reported_once(telemetry: Telemetry) -> None:
    # Ending the span reads the exception without marking it retrieved.
    reports: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _l, ctx: reports.append(ctx))
    telemetry.instrument(task_spans=True)
    spawn(boom())
    await iterations(6)
    assert len(reports) == 1
    assert telemetry.spans()["boom"].status.status_code is StatusCode.ERROR


async def test_eager_and_cancelled_tasks_end_their_spans(
    telemetry: Telemetry, loop_kind: str
) -> None:
    telemetry.instrument(task_spans=True)

    async def instant() -> int:
        return 1

    spawn(instant(), eager=True)
    victim = spawn(asyncio.sleep(10))
    async with TaskGroup("g") as tg:
        tg.spawn(instant())
    await iterations(2)
    victim.cancel()
    await iterations(4)
    spans = [s for s in telemetry.exporter.get_finished_spans() if s.name != "TaskGroup g"]
    outcomes = sorted(
        (s.name, s.attributes["taskwise.task.outcome"]) for s in spans if s.attributes
    )
    assert outcomes == [
        ("sleep", "cancelled"),
        ("test_eager_and_cancelled_tasks_end_their_spans.<locals>.instant", "ok"),
        ("test_eager_and_cancelled_tasks_end_their_spans.<locals>.instant", "ok"),
    ]


@pytest.mark.skipif(sys.version_info >= (3, 11), reason="3.10 only")
async def test_context_is_refused_on_3_10_as_without_spans(telemetry: Telemetry) -> None:
    telemetry.instrument(task_spans=True)
    with pytest.raises(TypeError, match=r"needs Python 3\.11"):
        spawn(fetch(1), context=contextvars.copy_context())
    async with TaskGroup() as tg:
        with pytest.raises(TypeError, match=r"needs Python 3\.11"):
            tg.spawn(fetch(2), context=contextvars.copy_context())
    assert [s.name for s in telemetry.exporter.get_finished_spans()] == ["TaskGroup"]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="context= needs 3.11")
async def test_a_given_context_is_copied_not_changed(telemetry: Telemetry) -> None:
    telemetry.instrument(task_spans=True)
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
    var.set("mine")
    given = contextvars.copy_context()
    before = dict(given.items())

    async def read() -> tuple[str, int]:
        return var.get(), trace.get_current_span().get_span_context().span_id

    value, span_id = await spawn(read(), context=given)
    async with TaskGroup() as tg:
        child = tg.spawn(read(), context=given)
    assert value == "mine"
    assert child.result()[0] == "mine"
    assert span_id != 0
    assert dict(given.items()) == before


async def test_a_task_that_cannot_be_created_ends_its_span(telemetry: Telemetry) -> None:
    telemetry.instrument(task_spans=True)
    loop = asyncio.get_running_loop()

    def refuse(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        raise RuntimeError("no tasks today")

    loop.set_task_factory(refuse)
    try:
        with pytest.raises(RuntimeError, match="no tasks today"):
            spawn(fetch(1))
        async with TaskGroup("g") as tg:
            with pytest.raises(RuntimeError, match="no tasks today"):
                tg.spawn(fetch(2))
    finally:
        loop.set_task_factory(None)
    failed = [s for s in telemetry.exporter.get_finished_spans() if s.name == "fetch"]
    assert len(failed) == 2
    assert all(s.status.status_code is StatusCode.ERROR for s in failed)


def test_after_observation_was_turned_off_and_on_by_hand(telemetry: Telemetry) -> None:
    telemetry.instrument()
    observe.disable()  # stops the integration too
    observe.enable()  # the user's own observation, without the integration's spans
    assert not otel.is_instrumented()
    telemetry.instrument()  # back
    assert otel.is_instrumented()
    otel.uninstrument()
    assert observe.is_enabled()  # the user turned it on: it stays on


@pytest.mark.parametrize("change", ["uninstrument", "instrument again, otherwise"])
async def test_the_callers_span_is_current_again_after_a_block_reconfigured_inside(
    telemetry: Telemetry, change: str
) -> None:
    telemetry.instrument()
    tracer = telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request") as request:
        async with TaskGroup("work"):
            if change == "uninstrument":
                otel.uninstrument()
            else:
                telemetry.instrument(task_spans=True)
        assert trace.get_current_span() is request  # not the group's span, ended


async def test_uninstrument_ends_open_spans(telemetry: Telemetry) -> None:
    telemetry.instrument(task_spans=True)
    gate = asyncio.get_running_loop().create_future()
    task = spawn(gate_wait(gate))
    async with TaskGroup("g"):
        await iterations(2)
        otel.uninstrument()
    gate.set_result(None)
    await task
    names = sorted(s.name for s in telemetry.exporter.get_finished_spans())
    assert names == ["TaskGroup g", "gate_wait"]


# --- the module ----------------------------------------------------------------------------


def test_taskwise_does_not_import_opentelemetry() -> None:
    code = (
        "import sys, taskwise, taskwise.observe, taskwise.integrations\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')], sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_without_the_extra_the_import_error_says_what_to_install() -> None:
    code = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None  # as if opentelemetry-api were not installed\n"
        "try:\n"
        "    import taskwise.integrations.otel\n"
        "except ModuleNotFoundError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'taskwise[otel]'" in done.stdout


@pytest.mark.parametrize(
    "obj",
    [otel.instrument, otel.uninstrument, otel.is_instrumented, observe.snapshot_by_coroutine],
    ids=lambda obj: obj.__name__,
)
def test_docstring_examples_run(obj: Any) -> None:
    doc = inspect.getdoc(obj)
    assert doc is not None
    code = textwrap.dedent(doc.split("Example::", 1)[1]).strip()
    namespace = {"asyncio": asyncio, "taskwise": taskwise, "otel": otel}
    try:
        exec(compile(code, f"<example of {obj.__name__}>", "exec"), namespace)
    finally:
        otel.uninstrument()
        observe.disable()
