"""Every async test runs under the default loop, uvloop, and the eager task factory (3.12+)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop has no Windows build
    uvloop = None

_params = [
    pytest.param(("asyncio", {}), id="asyncio"),
    pytest.param(
        ("asyncio", {"loop_factory": uvloop.new_event_loop if uvloop else None}),
        id="uvloop",
        marks=pytest.mark.skipif(uvloop is None, reason="uvloop is not installed"),
    ),
]

if sys.version_info >= (3, 12):

    def eager_loop() -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        loop.set_task_factory(asyncio.eager_task_factory)
        return loop

    _params.append(pytest.param(("asyncio", {"loop_factory": eager_loop}), id="eager"))


@pytest.fixture(params=_params)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """The loop flavour an async test runs under."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def loop_kind(anyio_backend: tuple[str, dict[str, Any]]) -> str:
    """'default', 'uvloop' or 'eager': for tests whose expectations depend on the loop."""
    factory = anyio_backend[1].get("loop_factory")
    if factory is None:
        return "default"
    return "uvloop" if uvloop is not None and factory is uvloop.new_event_loop else "eager"
