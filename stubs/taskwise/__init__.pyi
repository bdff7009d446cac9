# Shipped type stubs: they sit beside the modules in the wheel and take precedence over the
# inline annotations. `python -m mypy.stubtest taskwise` and tests/test_stub_contract.py keep
# them in step with the code; tests/typing/ pins what each call narrows to (docs/typing.md).
from ._core._group import TaskGroup as TaskGroup
from ._core._normalize import normalize_awaitable as normalize_awaitable
from ._core._shutdown import ShutdownResult as ShutdownResult
from ._core._shutdown import shutdown_spawned as shutdown_spawned
from ._core._shutdown import spawned_tasks as spawned_tasks
from ._core._spawn import spawn as spawn

__version__: str

__all__ = [
    "ShutdownResult",
    "TaskGroup",
    "normalize_awaitable",
    "shutdown_spawned",
    "spawn",
    "spawned_tasks",
]
