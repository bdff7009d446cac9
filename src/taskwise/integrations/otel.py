"""OpenTelemetry for the tasks taskwise starts: metrics from its own counters, spans for groups.

One call turns it on, one turns it off::

    from taskwise.integrations import otel

    otel.instrument()  # metrics and TaskGroup spans, to the global providers
    ...
    otel.uninstrument()

It is built on :mod:`taskwise.observe`, which sees every task :func:`taskwise.spawn`
and :meth:`taskwise.TaskGroup.spawn` start, whatever the loop or its task factory.
(OpenTelemetry's own asyncio instrumentation patches ``asyncio.create_task`` and
friends, which taskwise does not call, and wraps every coroutine.)

**Metrics** are observable instruments that read taskwise's counters when the
SDK collects: no OpenTelemetry call is made per task. Their attributes are the
group path (``taskwise.group.path``, left out for tasks outside any named
group) and the coroutine's qualified name (``taskwise.task.coroutine``), never
a task's own name, so the number of series stays bounded: every
``tg.spawn(fetch(url))`` of ``TaskGroup("crawl")`` is one series,
``("crawl", "fetch")``, not one per ``"crawl/fetch-17"``.

* ``taskwise.task.running`` (up-down counter, ``{task}``): tasks not finished yet.
* ``taskwise.task.finished`` (counter, ``{task}``): finished tasks, by
  ``taskwise.task.outcome``: ``ok``, ``failed`` or ``cancelled``.
* ``taskwise.task.time`` (counter, ``s``): the seconds finished tasks took, added up.
* ``taskwise.task.duration.bucket`` (counter, ``{task}``): finished tasks that took
  at most ``le`` seconds (``"0.001"`` ... ``"300"``, ``"+Inf"``), cumulative as a
  Prometheus histogram's buckets, so ``histogram_quantile()`` reads it as one.
* ``taskwise.task.duration`` (histogram, ``s``): only with
  ``instrument(duration_histogram=True)``. OpenTelemetry has no observable
  histogram, so this one is recorded once per finished task: it costs what a
  per-task call costs (see the performance guide).

**Spans**: one per ``async with TaskGroup(...)`` block, current inside the
block, so that its tasks' spans (and yours) nest under it. It counts the
children started, failed and cancelled, carries the cancellation's cause as an
event, and ends with an error status when the block raises. Per-task spans are
opt-in (``task_spans=True``): each task is created in a copy of the context
in which its span is current, its coroutine is never wrapped, so
``task.get_coro()`` and the task's name stay what they were. A span ends at the
loop iteration in which taskwise finds its task done, with an error status if
the task failed.

Durations are measured as :mod:`taskwise.observe` measures them: at the loop
iteration a task was first and last seen in.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import trace
    from opentelemetry.metrics import CallbackOptions, Histogram, MeterProvider, Observation
    from opentelemetry.trace import Span, Status, StatusCode, Tracer, TracerProvider
except ModuleNotFoundError as _missing:  # (private: not part of the module's API)
    if not (_missing.name or "").startswith("opentelemetry"):  # pragma: no cover - not the API
        raise
    raise ModuleNotFoundError(
        "taskwise.integrations.otel needs the OpenTelemetry API (opentelemetry-api), which "
        "is not installed. Install the optional extra: pip install 'taskwise[otel]' (and an "
        "SDK, such as opentelemetry-sdk, to export what it records).",
        name=_missing.name,
    ) from _missing

from .. import __version__, observe
from .._core import _hooks
from .._core._hooks import GROUP_PATH
from .._core._spawn import default_name as _default_name
from .._observe._observer import BOUNDS as _BOUNDS

__all__ = ["instrument", "is_instrumented", "uninstrument"]

_SCOPE = "taskwise"

# Instrument and attribute names (OpenTelemetry's semantic-convention style:
# dotted namespaces, units in UCUM, `{task}` for a count of tasks).
RUNNING = "taskwise.task.running"
FINISHED = "taskwise.task.finished"
TIME = "taskwise.task.time"
BUCKETS = "taskwise.task.duration.bucket"
DURATION = "taskwise.task.duration"
PATH = "taskwise.group.path"
COROUTINE = "taskwise.task.coroutine"
OUTCOME = "taskwise.task.outcome"
TASK_NAME = "taskwise.task.name"
GROUP_NAME = "taskwise.group.name"
STARTED = "taskwise.group.children.started"
FAILED = "taskwise.group.children.failed"
CANCELLED = "taskwise.group.children.cancelled"
GROUP_OUTCOME = "taskwise.group.outcome"
CANCEL_EVENT = "taskwise.group.cancelled"
CAUSE = "taskwise.group.cancel.cause"

_LE = tuple("+Inf" if bound == float("inf") else f"{bound:g}" for bound in _BOUNDS)

_lock = threading.Lock()


@dataclass(frozen=True)
class _Settings:
    meter_provider: MeterProvider | None
    tracer_provider: TracerProvider | None
    metrics: bool
    group_spans: bool
    task_spans: bool
    duration_histogram: bool


class _State:
    """What instrument() turned on, until uninstrument()."""

    def __init__(self, settings: _Settings, meter_key: object, spans: _Spans | None) -> None:
        self.settings = settings
        self.meter_key = meter_key  # the provider whose callbacks report
        self.spans = spans
        # The observation instrument() turned on, if it did: uninstrument() turns it
        # off only if it is still the one on (not one enable() made since).
        self.enabled: Any = None

    def installed(self, observer: Any) -> bool:
        """Whether *observer* (the one on) reports to this state's spans, if it has any."""
        return observer is not None and (self.spans is None or observer.tracer is self.spans)


_state: _State | None = None


def instrument(
    *,
    meter_provider: MeterProvider | None = None,
    tracer_provider: TracerProvider | None = None,
    metrics: bool = True,
    group_spans: bool = True,
    task_spans: bool = False,
    duration_histogram: bool = False,
) -> None:
    """Report taskwise's tasks to OpenTelemetry: metrics, and spans for TaskGroup blocks.

    Turns :mod:`taskwise.observe` on if it is off (and :func:`uninstrument` turns
    it off again then). Calling it again with the same arguments does nothing;
    with others, it starts over with those (spans already open are ended).

    Args:
        meter_provider: where the metrics go; by default the global one
            (``opentelemetry.metrics.set_meter_provider()``).
        tracer_provider: where the spans go; by default the global one.
        metrics: the observable instruments ``taskwise.task.running``,
            ``.finished``, ``.time`` and ``.duration.bucket``.
        group_spans: a span for each ``async with TaskGroup(...)`` block.
        task_spans: a span for each task, current inside the task. It costs an
            OpenTelemetry span per task (see the performance guide).
        duration_histogram: also a ``taskwise.task.duration`` histogram,
            recorded once per finished task (a call per task: off by default).

    Raises:
        TypeError: an option is not a bool.

    Example::

        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        reader = InMemoryMetricReader()
        otel.instrument(meter_provider=MeterProvider(metric_readers=[reader]))

        async def main() -> None:
            async with taskwise.TaskGroup("crawl") as tg:
                tg.spawn(asyncio.sleep(0))

        asyncio.run(main())
        data = reader.get_metrics_data()
        otel.uninstrument()
        assert data is not None
    """
    global _state
    flags = {
        "metrics": metrics,
        "group_spans": group_spans,
        "task_spans": task_spans,
        "duration_histogram": duration_histogram,
    }
    for option, value in flags.items():
        if type(value) is not bool:
            raise TypeError(f"instrument({option}=) takes True or False, but got {value!r}.")
    settings = _Settings(
        meter_provider, tracer_provider, metrics, group_spans, task_spans, duration_histogram
    )
    with _lock:
        observer = _hooks.observer
        if _state is not None and _state.settings == settings and _state.installed(observer):
            return  # the second call of the same: harmless
        enabled = _stop() if _state is not None else None
        if _hooks.observer is None:
            observe.enable()
            enabled = _hooks.observer
        meter = _meter(meter_provider)
        meter_key = (
            meter_provider if meter_provider is not None else otel_metrics.get_meter_provider()
        )
        histogram: Histogram | None = None
        if settings.metrics:
            _register(meter, meter_key)
        if duration_histogram:
            histogram = meter.create_histogram(
                DURATION,
                unit="s",
                description="How long each finished task took (recorded once per task).",
                explicit_bucket_boundaries_advisory=list(_BOUNDS[:-1]),
            )
        spans = None
        if group_spans or task_spans or histogram is not None:
            tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider=tracer_provider)
            spans = _Spans(tracer, groups=group_spans, tasks=task_spans, histogram=histogram)
        state = _State(settings, meter_key, spans)
        state.enabled = enabled
        observer = _hooks.observer
        assert observer is not None  # (enabled above)
        observer.tracer = spans
        observer.task_tracer = spans if task_spans else None
        _hooks.refresh()  # spawn() reads task_tracer, through its fast path's flag
        observer.forget_stamps()  # and TaskGroup.spawn() with each iteration's start time
        _state = state


def uninstrument() -> None:
    """Stop reporting to OpenTelemetry; nothing happens if :func:`instrument` was not called.

    The metrics stop reporting (OpenTelemetry cannot remove an instrument: they
    report nothing from now on), open spans are ended, and observation is turned
    off if :func:`instrument` turned it on.

    Example::

        otel.instrument()
        otel.uninstrument()
        otel.uninstrument()  # twice: harmless
        assert not otel.is_instrumented()
    """
    with _lock:
        if _state is not None and _stop() is not None:
            observe.disable()


def is_instrumented() -> bool:
    """Whether :func:`instrument` is in effect: observation still on, and reporting to it.

    Example::

        otel.instrument()
        assert otel.is_instrumented()
        otel.uninstrument()
    """
    state = _state
    return state is not None and state.installed(_hooks.observer)


def _stop() -> Any:
    """Undo instrument(); return the observation it turned on, if that is still on."""
    global _state
    state, _state = _state, None
    assert state is not None
    observer = _hooks.observer
    if observer is not None and state.spans is not None and observer.tracer is state.spans:
        observer.tracer = observer.task_tracer = None
        _hooks.refresh()
    if state.spans is not None:
        state.spans.close()
    return state.enabled if state.enabled is observer else None


def _meter(meter_provider: MeterProvider | None) -> otel_metrics.Meter:
    return otel_metrics.get_meter(_SCOPE, __version__, meter_provider=meter_provider)


# --- metrics ---------------------------------------------------------------------------


def _register(meter: otel_metrics.Meter, key: object) -> None:
    """Create the observable instruments on *meter*; they report while *key*'s are wanted.

    OpenTelemetry cannot remove an instrument, and creating one again on the same
    meter returns the first one, callbacks and all: so the callbacks look up the
    current state at each collection, and report only while their provider is the
    one instrument() was last given.
    """

    def rows() -> dict[tuple[str, str], list[Any]]:
        state = _state
        if state is None or state.meter_key is not key or not state.settings.metrics:
            return {}
        return observe._totals()

    def running(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(row[0], _attributes(*k)) for k, row in rows().items()]

    def finished(options: CallbackOptions) -> Iterable[Observation]:
        found = []
        for k, row in rows().items():
            base = _attributes(*k)
            for outcome, count in zip(("ok", "failed", "cancelled"), row[1:4], strict=True):
                found.append(Observation(count, {**base, OUTCOME: outcome}))
        return found

    def seconds(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(row[4], _attributes(*k)) for k, row in rows().items()]

    def buckets(options: CallbackOptions) -> Iterable[Observation]:
        found = []
        for k, row in rows().items():
            base = _attributes(*k)
            total = 0
            for le, count in zip(_LE, row[6], strict=True):
                total += count
                found.append(Observation(total, {**base, "le": le}))
        return found

    meter.create_observable_up_down_counter(
        RUNNING,
        [running],
        unit="{task}",
        description="Tasks taskwise tracks that have not finished.",
    )
    meter.create_observable_counter(
        FINISHED, [finished], unit="{task}", description="Finished tasks, by outcome."
    )
    meter.create_observable_counter(
        TIME, [seconds], unit="s", description="The seconds finished tasks took, added up."
    )
    meter.create_observable_counter(
        BUCKETS,
        [buckets],
        unit="{task}",
        description="Finished tasks that took at most `le` seconds (cumulative buckets).",
    )


def _attributes(path: str, coroutine: str) -> dict[str, str]:
    if path:
        return {PATH: path, COROUTINE: coroutine}
    return {COROUTINE: coroutine}


# --- spans and the duration histogram: the observer's `tracer` ---------------------------


class _Spans:
    """The hooks taskwise.observe calls for spans (and the per-task histogram)."""

    def __init__(
        self, tracer: Tracer, *, groups: bool, tasks: bool, histogram: Histogram | None
    ) -> None:
        self.tracer = tracer
        self.groups = groups
        self.tasks = tasks  # the observer hands finished tasks only when True
        self.durations = histogram is not None  # and durations only when True
        self.histogram = histogram
        # Open spans. Tasks and groups of loops in several threads: plain dict
        # operations, each atomic, and no iteration but close()'s, over a copy.
        self.open_tasks: dict[asyncio.Task[Any], Span] = {}
        self.open_groups: dict[Any, _GroupSpan] = {}

    # -- tasks ----------------------------------------------------------------------

    def task_starting(
        self, coro: Coroutine[Any, Any, Any], name: str, context: contextvars.Context | None
    ) -> tuple[Span, contextvars.Context]:
        """A task is about to be created: start its span in a context of its own."""
        own = contextvars.copy_context() if context is None else context.copy()
        return own.run(self._start, _default_name(coro), name), own

    def _start(self, coroutine: str, name: str) -> Span:
        attributes = {COROUTINE: coroutine, TASK_NAME: name}
        path = GROUP_PATH.get()
        if path:
            attributes[PATH] = path
        span = self.tracer.start_span(coroutine, attributes=attributes)
        # Current in this context, which is the task's own: nothing to detach.
        otel_context.attach(trace.set_span_in_context(span))
        return span

    def task_created(self, task: asyncio.Task[Any] | None, span: Span) -> None:
        if task is None:  # creating it failed: the exception is the caller's
            span.set_status(Status(StatusCode.ERROR, "the task could not be created"))
            span.end()
        else:
            self.open_tasks[task] = span

    def tasks_finished(self, tasks: list[asyncio.Task[Any]]) -> None:
        open_tasks = self.open_tasks
        if open_tasks:
            for task in tasks:
                span = open_tasks.pop(task, None)
                if span is not None:
                    _end(span, task)

    def record_durations(self, path: str, coroutine: str, count: int, duration: float) -> None:
        assert self.histogram is not None
        attributes = _attributes(path, coroutine)
        record = self.histogram.record
        for _ in range(count):
            record(duration, attributes)

    # -- groups ---------------------------------------------------------------------

    def group_entered(self, group: Any) -> None:
        if not self.groups:
            return
        path = group._path_text()
        attributes = {PATH: path} if path else {}
        if group.name is not None:
            attributes[GROUP_NAME] = group.name
        span = self.tracer.start_span(
            f"TaskGroup {path}" if path else "TaskGroup", attributes=attributes
        )
        # Current in the block (the body's context): its tasks' spans nest under it.
        # The group restores the context when the block is left, even if this
        # integration was uninstalled or replaced meanwhile.
        token = otel_context.attach(trace.set_span_in_context(span))
        group._exit_callback = functools.partial(otel_context.detach, token)
        self.open_groups[group] = _GroupSpan(span)

    def group_cancelled(self, group: Any, cause: str) -> None:
        state = self.open_groups.get(group)
        if state is not None:
            state.span.add_event(CANCEL_EVENT, {CAUSE: cause})

    def child_finished(self, group: Any, task: asyncio.Task[Any]) -> None:
        state = self.open_groups.get(group)
        if state is not None:
            if task.cancelled():
                state.cancelled += 1
            elif task._exception is not None:
                state.failed += 1
        if self.open_tasks:
            span = self.open_tasks.pop(task, None)
            if span is not None:
                _end(span, task)

    def group_exited(self, group: Any, error: BaseException | None) -> None:
        state = self.open_groups.pop(group, None)
        if state is None:
            return
        span = state.span
        span.set_attributes(
            {STARTED: group._count, FAILED: state.failed, CANCELLED: state.cancelled}
        )
        if error is not None and not isinstance(error, asyncio.CancelledError):
            span.set_attribute(GROUP_OUTCOME, "failed")
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        elif error is not None or group._shutting_down():
            span.set_attribute(GROUP_OUTCOME, "cancelled")
        else:
            span.set_attribute(GROUP_OUTCOME, "ok")
        span.end()

    def close(self) -> None:
        """uninstrument(): end what is open (the tasks and blocks go on unobserved)."""
        for span in list(self.open_tasks.values()):
            span.end()
        self.open_tasks.clear()
        for state in list(self.open_groups.values()):
            state.span.end()
        self.open_groups.clear()


class _GroupSpan:
    __slots__ = ("cancelled", "failed", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.failed = 0
        self.cancelled = 0


def _end(span: Span, task: asyncio.Task[Any]) -> None:
    """End a task's span with its outcome (without marking its exception retrieved)."""
    if task.cancelled():
        span.set_attribute(OUTCOME, "cancelled")
    else:
        exc = task._exception  # not task.exception(): that would mark it retrieved
        if exc is None:
            span.set_attribute(OUTCOME, "ok")
        else:
            span.set_attribute(OUTCOME, "failed")
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
    span.end()
