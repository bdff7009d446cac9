"""What a task costs: taskwise against the standard library and other libraries, side by side.

Run it on one Python with ``python benchmarks/bench.py`` (``--quick`` for a few-second smoke
run, ``--save`` to write ``benchmarks/results/<python>.json`` for ``report.py``), or on every
Python with ``bash scripts/test -s bench -- --save`` followed by ``python benchmarks/report.py``.

How it measures (these machines have 2 cores and are shared, so absolute times are noisy):

* A *case* creates a batch of ``--n`` tasks the way an application would, then lets the loop
  run a fixed number of iterations so that every task finishes and all bookkeeping (done
  callbacks, taskwise's keeper) has run. The cost per task is the batch's time divided by n:
  creating, running, finishing and forgetting one task.
* One *round* runs every case once, in a shuffled order. Each case's number in a round is
  divided by the baseline's number in the same round (``loop.create_task`` on the same loop
  with the same coroutine, unless the case names another baseline), and the report gives the
  median of those per-round ratios over many rounds. Drift and interference hit both sides of
  a ratio alike; the median drops rounds that a neighbour's burst spoiled.
* The garbage collector stays on (as in applications); a full collection between rounds keeps
  its state the same for every round.

No number here is asserted anywhere: ``--quick`` checks only that every case runs and that every
task it made has finished.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Coroutine, Generator
from pathlib import Path
from typing import Any

import taskwise
import taskwise.observe as observe

try:
    import uvloop
except ImportError:  # pragma: no cover - no Windows build
    uvloop = None  # type: ignore[assignment]
try:
    import anyio
except ImportError:  # pragma: no cover
    anyio = None  # type: ignore[assignment]
try:
    import aiojobs
except ImportError:  # pragma: no cover
    aiojobs = None  # type: ignore[assignment]
try:  # the OpenTelemetry rows need the SDK (the `bench` dependency group has it)
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    import taskwise.observe
    from taskwise.integrations import otel
except ImportError:  # pragma: no cover
    otel = None  # type: ignore[assignment]

PY = f"{sys.version_info[0]}.{sys.version_info[1]}"
HAS_TASKGROUP = hasattr(asyncio, "TaskGroup")  # 3.11+
HAS_EAGER = hasattr(asyncio, "eager_task_factory")  # 3.12+
DRAIN = 4  # loop iterations after a batch: enough for every task and every keeper tick

perf_counter = time.perf_counter
sleep = asyncio.sleep


# --- the work each task does ---------------------------------------------------------------


async def instant() -> None:
    """A coroutine that finishes in its first step."""


async def suspend() -> None:
    """A coroutine that suspends once, then finishes."""
    await sleep(0)


WORKS: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
    "instant": instant,
    "suspend": suspend,
}


async def drain() -> None:
    for _ in range(DRAIN):
        await sleep(0)


# --- the cases: each returns the seconds its batch took ------------------------------------

Case = Callable[[int, Callable[[], Coroutine[Any, Any, None]]], Awaitable[float]]


async def loop_create_task(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    create = asyncio.get_running_loop().create_task
    t0 = perf_counter()
    for _ in range(n):
        create(work())
    await drain()
    return perf_counter() - t0


async def loop_create_task_named(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    """The baseline with a name, as spawn() gives every task one."""
    create = asyncio.get_running_loop().create_task
    t0 = perf_counter()
    for _ in range(n):
        create(work(), name="work")
    await drain()
    return perf_counter() - t0


async def asyncio_create_task(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    create = asyncio.create_task
    t0 = perf_counter()
    for _ in range(n):
        create(work())
    await drain()
    return perf_counter() - t0


async def ensure_future(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    ensure = asyncio.ensure_future
    t0 = perf_counter()
    for _ in range(n):
        ensure(work())
    await drain()
    return perf_counter() - t0


async def task_constructor(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    task = asyncio.Task
    t0 = perf_counter()
    for _ in range(n):
        task(work())
    await drain()
    return perf_counter() - t0


async def idiom(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    """The documented way to keep a reference: a set, and set.discard as done-callback."""
    create = asyncio.get_running_loop().create_task
    background: set[asyncio.Task[None]] = set()
    t0 = perf_counter()
    for _ in range(n):
        task = create(work())
        background.add(task)
        task.add_done_callback(background.discard)
    await drain()
    return perf_counter() - t0


async def tw_spawn(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    spawn = taskwise.spawn
    t0 = perf_counter()
    for _ in range(n):
        spawn(work())
    await drain()
    return perf_counter() - t0


class _Listener:
    """A listener that receives every finished task (the cheapest useful one)."""

    def __init__(self) -> None:
        self.finished = 0

    def tasks_finished(self, tasks: list[asyncio.Task[Any]]) -> None:
        self.finished += len(tasks)


async def tw_spawn_counters(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    """spawn() with taskwise.observe's lifecycle counters on."""
    observe.enable()
    try:
        return await tw_spawn(n, work)
    finally:
        observe.disable()


async def _listening(case: Case, n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    """*case* with counters on and one listener receiving every finished task."""
    listener = _Listener()
    observe.add_listener(listener)
    try:
        return await case(n, work)
    finally:
        observe.remove_listener(listener)
        observe.disable()


async def tw_spawn_listener(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    """spawn() with counters on and one listener receiving every finished task."""
    return await _listening(tw_spawn, n, work)


async def tw_taskgroup_counters(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    """TaskGroup.spawn with taskwise.observe's lifecycle counters on."""
    observe.enable()
    try:
        return await tw_taskgroup(n, work)
    finally:
        observe.disable()


async def tw_taskgroup_listener(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    """TaskGroup.spawn with counters on and one listener receiving every finished child."""
    return await _listening(tw_taskgroup, n, work)


async def tw_spawn_eager(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    spawn = taskwise.spawn
    t0 = perf_counter()
    for _ in range(n):
        spawn(work(), eager=True)
    await drain()
    return perf_counter() - t0


# --- observed: taskwise.observe's counters, and OpenTelemetry on top of them ----------------
#
# Each case turns its instrumentation on before the clock starts and off after it stops; the
# SDK's reader never collects during a batch (collection reads the counters, once per export
# interval, not once per task). Spans go to the SDK's SimpleSpanProcessor and an exporter that
# drops them: what is measured is taskwise's part and the SDK's span itself.


class _Drop(SpanExporter if otel is not None else object):  # type: ignore[misc]
    def export(self, spans: Any) -> Any:
        return SpanExportResult.SUCCESS


def _telemetry() -> tuple[Any, Any]:
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    tracers = TracerProvider(shutdown_on_exit=False)
    tracers.add_span_processor(SimpleSpanProcessor(_Drop()))
    return meters, tracers


_TELEMETRY: tuple[Any, Any] | None = None


def _instrumented(case: Case, label: str, **options: Any) -> Case:
    counters_only = options.pop("counters_only", False)

    async def observed(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
        global _TELEMETRY
        if counters_only:
            taskwise.observe.enable()
        else:
            if _TELEMETRY is None:
                _TELEMETRY = _telemetry()
            meters, tracers = _TELEMETRY
            otel.instrument(meter_provider=meters, tracer_provider=tracers, **options)
        try:
            return await case(n, work)
        finally:
            if not counters_only:
                otel.uninstrument()
            taskwise.observe.disable()

    observed.__name__ = label
    return observed


async def asyncio_taskgroup(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    t0 = perf_counter()
    async with asyncio.TaskGroup() as tg:
        create = tg.create_task
        for _ in range(n):
            create(work())
    await drain()
    return perf_counter() - t0


async def tw_taskgroup(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    """taskwise.TaskGroup.spawn, names composed as "bench/<coroutine>-<n>"."""
    t0 = perf_counter()
    async with taskwise.TaskGroup("bench") as tg:
        spawn = tg.spawn
        for _ in range(n):
            spawn(work())
    await drain()
    return perf_counter() - t0


async def anyio_start_soon(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    t0 = perf_counter()
    async with anyio.create_task_group() as tg:
        start_soon = tg.start_soon
        for _ in range(n):
            start_soon(work)
    await drain()
    return perf_counter() - t0


async def aiojobs_spawn(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
    t0 = perf_counter()
    scheduler = aiojobs.Scheduler(limit=None)
    spawn = scheduler.spawn
    for _ in range(n):
        await spawn(work())
    await scheduler.wait_and_close()
    await drain()
    return perf_counter() - t0


# --- normalize_awaitable against ensure_future, per kind of input ---------------------------


class Awaitable_:
    """An awaitable that is neither a coroutine nor a future."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return (yield from ())


def _convert(name: str, convert: Callable[[Any], Any], kind: str) -> Case:
    if kind == "coroutine":

        async def case(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
            t0 = perf_counter()
            for _ in range(n):
                convert(work())
            await drain()
            return perf_counter() - t0

    elif kind == "awaitable":

        async def case(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
            obj = Awaitable_()
            t0 = perf_counter()
            for _ in range(n):
                convert(obj)
            await drain()
            return perf_counter() - t0

    elif kind in ("task", "future"):

        async def case(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
            loop = asyncio.get_running_loop()
            obj = loop.create_task(work()) if kind == "task" else loop.create_future()
            t0 = perf_counter()
            for _ in range(n):
                convert(obj)
            await drain()
            elapsed = perf_counter() - t0
            if not obj.done():
                obj.cancel()
            return elapsed

    else:  # "concurrent": a fresh concurrent.futures.Future each time

        async def case(n: int, work: Callable[[], Coroutine[Any, Any, None]]) -> float:
            cf_future = concurrent.futures.Future
            t0 = perf_counter()
            for _ in range(n):
                convert(cf_future())
            await drain()
            return perf_counter() - t0

    case.__name__ = name
    return case


# --- the plan: (flavour, work, label, case, baseline label or None) -------------------------


def eager_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    loop.set_task_factory(asyncio.eager_task_factory)
    return loop


def plan(quick: bool) -> tuple[dict[str, Callable[[], asyncio.AbstractEventLoop]], list[Row]]:
    flavours: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
        "asyncio": asyncio.new_event_loop
    }
    if uvloop is not None:
        flavours["uvloop"] = uvloop.new_event_loop
    if HAS_EAGER:
        flavours["eager factory"] = eager_loop

    main: list[tuple[str, Case | None]] = [
        ("loop.create_task", loop_create_task),
        ("loop.create_task(name=...)", loop_create_task_named),
        ("asyncio.create_task", asyncio_create_task),
        ("asyncio.ensure_future", ensure_future),
        ("asyncio.Task(...)", task_constructor),
        ("create_task + set + discard", idiom),
        ("taskwise.spawn", tw_spawn),
        ("taskwise.spawn(eager=True)", tw_spawn_eager if HAS_EAGER else None),
        ("asyncio.TaskGroup.create_task", asyncio_taskgroup if HAS_TASKGROUP else None),
        ("taskwise.TaskGroup.spawn", tw_taskgroup),
        ("taskwise.spawn, counters on", tw_spawn_counters),
        ("taskwise.spawn, a listener", tw_spawn_listener),
        ("taskwise.TaskGroup.spawn, counters on", tw_taskgroup_counters),
        ("taskwise.TaskGroup.spawn, a listener", tw_taskgroup_listener),
    ]
    rows: list[Row] = []
    for flavour in flavours:
        for work in WORKS:
            for label, case in main:
                if case is None:
                    continue
                if flavour == "uvloop" and case is tw_spawn_eager:
                    continue  # uvloop runs no task eagerly (uvloop#754)
                if flavour == "eager factory" and case in (task_constructor, tw_spawn_eager):
                    continue  # Task() ignores the factory; eager=True is the default there
                vs = None
                if case is tw_taskgroup and HAS_TASKGROUP:
                    vs = "asyncio.TaskGroup.create_task"
                elif case is tw_spawn_eager:
                    vs = "taskwise.spawn"
                elif case is tw_spawn:
                    vs = "create_task + set + discard"
                elif case in (tw_spawn_counters, tw_spawn_listener):
                    vs = "taskwise.spawn"
                elif case in (tw_taskgroup_counters, tw_taskgroup_listener):
                    vs = "taskwise.TaskGroup.spawn"
                rows.append(Row(flavour, work, label, case, vs))
    if otel is not None:
        # Side by side with the same case uninstrumented, in the same rounds.
        observed = [
            (
                "taskwise.spawn + observe.enable()",
                tw_spawn,
                "taskwise.spawn",
                {"counters_only": True},
            ),
            # instrument() as it comes: metrics, and spans for groups (none here).
            ("taskwise.spawn + otel.instrument()", tw_spawn, "taskwise.spawn", {}),
            (
                "taskwise.spawn + otel, duration histogram",
                tw_spawn,
                "taskwise.spawn",
                {"duration_histogram": True},
            ),
            (
                "taskwise.spawn + otel, task spans",
                tw_spawn,
                "taskwise.spawn",
                {"metrics": False, "group_spans": False, "task_spans": True},
            ),
            (
                "taskwise.TaskGroup.spawn + observe.enable()",
                tw_taskgroup,
                "taskwise.TaskGroup.spawn",
                {"counters_only": True},
            ),
            (
                "taskwise.TaskGroup.spawn + otel.instrument()",
                tw_taskgroup,
                "taskwise.TaskGroup.spawn",
                {},
            ),
        ]
        for work in WORKS:
            for label, case, vs, options in observed:
                rows.append(Row("asyncio", work, label, _instrumented(case, label, **options), vs))
    for work in WORKS:
        if anyio is not None:
            rows.append(Row("asyncio", work, "anyio start_soon", anyio_start_soon, None))
        if aiojobs is not None:  # never under an eager factory: aiojobs livelocks there
            rows.append(Row("asyncio", work, "aiojobs spawn", aiojobs_spawn, None))

    kinds = {
        "coroutine": asyncio.ensure_future,
        "awaitable": asyncio.ensure_future,
        "task": asyncio.ensure_future,
        "future": asyncio.ensure_future,
        "concurrent": asyncio.wrap_future,
    }
    for kind, std in kinds.items():
        std_label = f"{std.__name__}({kind})"
        rows.append(Row("asyncio", "instant", std_label, _convert(std_label, std, kind), None))
        label = f"normalize_awaitable({kind})"
        case = _convert(label, taskwise.normalize_awaitable, kind)
        rows.append(Row("asyncio", "instant", label, case, std_label))
    return flavours, rows


class Row:
    __slots__ = ("case", "flavour", "label", "samples", "vs", "work")

    def __init__(self, flavour: str, work: str, label: str, case: Case, vs: str | None) -> None:
        self.flavour = flavour
        self.work = work
        self.label = label
        self.case = case
        self.vs = vs
        self.samples: list[float] = []

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.flavour, self.work, self.label)


def only(rows: list[Row], pattern: str) -> list[Row]:
    """The rows whose label matches *pattern*, with the baselines their ratios need."""
    wanted = {row.key for row in rows if re.search(pattern, row.label)}
    if not wanted:
        raise SystemExit(f"--only {pattern!r} matches no case; the cases are listed by a full run")
    more = True
    while more:  # a baseline may have a baseline of its own
        needed = {(r.flavour, r.work, r.vs) for r in rows if r.key in wanted and r.vs is not None}
        more = not needed <= wanted
        wanted |= needed
    wanted |= {(flavour, work, "loop.create_task") for flavour, work, _ in wanted}
    return [row for row in rows if row.key in wanted]


def run_timing(rounds: int, n: int, quick: bool, pattern: str | None = None) -> list[Row]:
    flavours, rows = plan(quick)
    if pattern is not None:
        rows = only(rows, pattern)
    loops = {name: make() for name, make in flavours.items()}
    rng = random.Random(20251122)
    try:
        for r in range(rounds + 1):  # round 0 warms up and is dropped
            gc.collect()
            order = rows[:]
            rng.shuffle(order)
            for row in order:
                loop = loops[row.flavour]
                elapsed = loop.run_until_complete(row.case(n, WORKS[row.work]))
                if r:
                    row.samples.append(elapsed / n)
                if quick or r == 0:
                    check_finished(loop, row)
    finally:
        for loop in loops.values():
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
    return rows


def check_finished(loop: asyncio.AbstractEventLoop, row: Row) -> None:
    async def left() -> set[asyncio.Task[Any]]:
        return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    pending = loop.run_until_complete(left())
    if pending:
        raise SystemExit(f"{row.key}: {len(pending)} tasks still pending after the batch")


# --- memory per pending task ----------------------------------------------------------------


async def _pending(fut: asyncio.Future[None]) -> None:
    await fut


async def memory_case(kind: str, n: int) -> float:
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[None] = loop.create_future()
    refs: list[Any] = [None] * n  # allocated before the measurement: holds bare tasks
    background: set[asyncio.Task[None]] = set()
    create = loop.create_task
    await drain()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    if kind == "bare Task":
        for i in range(n):
            refs[i] = create(_pending(gate))
    elif kind == "create_task + set + discard":
        for _ in range(n):
            task = create(_pending(gate))
            background.add(task)
            task.add_done_callback(background.discard)
    elif kind == "taskwise.spawn":
        spawn = taskwise.spawn
        for _ in range(n):
            spawn(_pending(gate))
    elif kind == "taskwise.spawn, counters on":
        spawn = taskwise.spawn
        observe.enable()
        try:
            for _ in range(n):
                spawn(_pending(gate))
        finally:
            observe.disable()
    await drain()  # every task is now waiting on the gate, and taskwise's keeper is idle
    used = tracemalloc.get_traced_memory()[0] - before
    gate.set_result(None)
    await drain()
    return used / n


def run_memory(n: int, repeats: int) -> dict[str, float]:
    kinds = [
        "bare Task",
        "create_task + set + discard",
        "taskwise.spawn",
        "taskwise.spawn, counters on",
    ]
    samples: dict[str, list[float]] = {k: [] for k in kinds}
    tracemalloc.start()
    try:
        loop = asyncio.new_event_loop()
        try:
            for _ in range(repeats):
                for kind in kinds:
                    samples[kind].append(loop.run_until_complete(memory_case(kind, n)))
        finally:
            loop.close()
    finally:
        tracemalloc.stop()
    return {k: statistics.median(v) for k, v in samples.items()}


# --- import time ----------------------------------------------------------------------------


def run_import(repeats: int) -> dict[str, float]:
    """Median wall time of `import asyncio` and of `import asyncio, taskwise` in fresh processes."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # installed packages have their bytecode cached
    scripts = {
        "asyncio": "import asyncio",
        "asyncio + taskwise": "import asyncio, taskwise",
    }
    # Time inside the process, so interpreter start-up (the same for both) stays out.
    template = "import time; t = time.perf_counter(); {}; print(time.perf_counter() - t)"
    samples: dict[str, list[float]] = {k: [] for k in scripts}
    for body in scripts.values():  # warm-up: write the bytecode caches
        subprocess.run([sys.executable, "-c", body], env=env, check=True)
    for _ in range(repeats):
        for k, body in scripts.items():
            out = subprocess.run(
                [sys.executable, "-c", template.format(body)],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            samples[k].append(float(out))
    deltas = [t - a for a, t in zip(samples["asyncio"], samples["asyncio + taskwise"], strict=True)]
    return {
        "asyncio_ms": statistics.median(samples["asyncio"]) * 1e3,
        "with_taskwise_ms": statistics.median(samples["asyncio + taskwise"]) * 1e3,
        "added_ms": statistics.median(deltas) * 1e3,
    }


# --- reporting ------------------------------------------------------------------------------

SMOKE_HEADER = (
    "SMOKE RUN (--quick): it checks that every case runs and that every task it made finishes.\n"
    "Its figures come from too few rounds to mean anything; the numbers in docs/performance.md\n"
    "come from the full run (python benchmarks/bench.py --save)."
)


def summarize(rows: list[Row]) -> list[dict[str, Any]]:
    by_key = {row.key: row for row in rows}
    out = []
    for row in rows:
        base = by_key[(row.flavour, row.work, "loop.create_task")]
        ratios = [a / b for a, b in zip(row.samples, base.samples, strict=True)]
        entry: dict[str, Any] = {
            "flavour": row.flavour,
            "work": row.work,
            "case": row.label,
            "ns": statistics.median(row.samples) * 1e9,
            "ratio": statistics.median(ratios),
            "vs": row.vs,
        }
        if row.vs is not None:
            other = by_key[(row.flavour, row.work, row.vs)]
            entry["ratio_vs"] = statistics.median(
                [a / b for a, b in zip(row.samples, other.samples, strict=True)]
            )
        out.append(entry)
    return out


def print_table(results: list[dict[str, Any]]) -> None:
    print(f"{'loop':14} {'work':8} {'case':34} {'ns/task':>9} {'x create_task':>13}  vs")
    for e in results:
        vs = f"{e['ratio_vs']:.2f} x {e['vs']}" if e["vs"] else ""
        print(
            f"{e['flavour']:14} {e['work']:8} {e['case']:34} {e['ns']:9.0f} "
            f"{e['ratio']:13.2f}  {vs}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 151; quick 3)")
    parser.add_argument("--n", type=int, help="tasks per batch (default 1000; quick 100)")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/<py>.json")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument(
        "--only",
        metavar="REGEX",
        help="run only the cases whose label matches (and their baselines); no memory, no imports",
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 151)
    n = args.n or (100 if args.quick else 1000)

    print(f"Python {platform.python_version()}, {rounds} rounds of {n} tasks per case", flush=True)
    if args.quick:
        print(SMOKE_HEADER, flush=True)
    started = time.perf_counter()
    rows = run_timing(rounds, n, args.quick, args.only)
    results = summarize(rows)
    print_table(results)
    if args.only is not None:
        if args.save or args.json:
            raise SystemExit("--only runs a part of the cases: it saves nothing")
        return
    memory = run_memory(200 if args.quick else 4000, 1 if args.quick else 5)
    imports = run_import(3 if args.quick else 41)
    if args.quick:
        # Three import pairs on a shared machine can come out negative: say nothing of them.
        print("memory and import time: both ran; a smoke run measures neither")
        print(f"(smoke run, {time.perf_counter() - started:.0f} s: no figure above is a result)")
    else:
        print(
            "memory per pending task (bytes): "
            + ", ".join(f"{k} {v:.0f}" for k, v in memory.items())
        )
        print(
            f"import asyncio {imports['asyncio_ms']:.1f} ms; import taskwise adds "
            f"{imports['added_ms']:.2f} ms"
        )
        print(f"({time.perf_counter() - started:.0f} s)")

    data = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "uvloop": getattr(uvloop, "__version__", None),
        "rounds": rounds,
        "n": n,
        "quick": args.quick,
        "timing": results,
        "memory": memory,
        "import": imports,
    }
    target = args.json
    if args.save:
        target = Path(__file__).parent / "results" / f"{PY}.json"
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
