# Shipped type stubs: they sit beside the modules in the wheel and take precedence over the
# inline annotations. `python -m mypy.stubtest taskwise` and tests/test_stub_contract.py keep
# them in step with the code; tests/typing/ pins what each call narrows to (docs/typing.md).
from ._core._group import TaskGroup as TaskGroup
from ._core._normalize import normalize_awaitable as normalize_awaitable
from ._core._spawn import spawn as spawn

__version__: str

__all__ = ["TaskGroup", "normalize_awaitable", "spawn"]
