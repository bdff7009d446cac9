"""Refusing bad input: errors that say what was passed and show the right call.

Whatever is refused and is a coroutine gets closed first, so no
"coroutine ... was never awaited" warning follows the error.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import sys
from collections.abc import Coroutine
from types import CoroutineType
from typing import Any, NoReturn

__all__ = [
    "check_name",
    "close_quietly",
    "coroutine_or_error",
    "describe",
    "no_running_loop",
    "not_awaitable",
]


def describe(obj: object) -> str:
    """Name *obj* for an error message: what it is, not just its repr."""
    if obj is None:
        return "None"
    if inspect.iscoroutinefunction(obj):
        return f"the coroutine function {_name_of(obj)} itself"
    if inspect.isasyncgenfunction(obj):
        return f"the async generator function {_name_of(obj)} itself"
    if inspect.isgeneratorfunction(obj):
        return f"the generator function {_name_of(obj)} itself"
    if inspect.isroutine(obj) or isinstance(obj, type):
        return f"the callable {_name_of(obj)} itself"
    if inspect.iscoroutine(obj):
        return f"a coroutine object from {obj.__qualname__}()"
    if inspect.isasyncgen(obj):
        return f"an async generator object from {obj.__qualname__}()"
    if inspect.isgenerator(obj):
        return f"a generator object from {obj.__qualname__}()"
    if isinstance(obj, asyncio.Task):
        return f"the Task {obj.get_name()!r}"
    text = repr(obj)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({a_or_an(type(obj).__qualname__)})"


def a_or_an(word: str) -> str:
    """'an int', 'a str': the article a message needs before *word*."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def check_name(name: object, api: str, coro: object = None) -> None:
    """Refuse a task or group name that is not a str (closing *coro* first).

    One rule for ``spawn(name=)``, ``TaskGroup(name)`` and ``TaskGroup.spawn(name=)``:
    a name is text, or None for the default. asyncio itself would turn anything
    into a name with ``str()``, which hides mistakes such as passing the index.
    """
    if name is None or isinstance(name, str):
        return
    close_quietly(coro)
    closed = " The coroutine was closed." if isinstance(coro, Coroutine) else ""
    raise TypeError(
        f"{api}() takes a name that is a str (or None for the default), but got "
        f"{name!r} ({a_or_an(type(name).__qualname__)}). Pass it as text: "
        f'name={str(name)!r}, or name=f"...{{value}}" to build one.{closed}'
    )


def _name_of(obj: Any) -> str:
    return str(getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or obj)


def close_quietly(obj: object) -> None:
    """Close *obj* if it is a coroutine, so refusing it leaves no warning behind."""
    if isinstance(obj, Coroutine):
        obj.close()


def coroutine_or_error(obj: object, api: str) -> Coroutine[Any, Any, Any]:
    """Return *obj* if it is a coroutine object, else raise a TypeError that teaches.

    *api* is how the caller's call is spelled in the message, e.g. ``"spawn"``.
    Generator-based coroutines (``@types.coroutine``) are refused on every
    Python, as ``create_task`` does from 3.12 on, so that behaviour does not
    depend on the version.
    """
    if isinstance(obj, Coroutine):
        return obj
    raise TypeError(_not_a_coroutine(obj, api))


def _shared_advice(obj: object, api: str) -> str | None:
    """The fix for the mistakes every API sees: a function not called, a generator."""
    if inspect.iscoroutinefunction(obj):
        return f"Call it: {api}({_name_of(obj)}(...))."
    if inspect.isasyncgen(obj) or inspect.isasyncgenfunction(obj):
        return (
            f"An async generator is iterated, not run as a task (nor awaited): wrap its "
            f"`async for` loop in a coroutine, `async def consume(): async for x in agen: ...`, "
            f"then {api}(consume())."
        )
    if inspect.isgenerator(obj) or inspect.isgeneratorfunction(obj):
        return (
            f"Generators are not coroutines: declare the function with `async def` "
            f"(and `await` instead of `yield from`), then {api}(func(...))."
        )
    return None


def not_awaitable(obj: object) -> str:
    """The message for normalize_awaitable() given something it cannot await."""
    advice = _shared_advice(obj, "normalize_awaitable") or (
        "If it comes from a blocking function, run it in a thread: "
        "normalize_awaitable(asyncio.to_thread(func, ...))."
    )
    return (
        f"normalize_awaitable() takes an awaitable (a coroutine, Task, Future or any "
        f"object with __await__), but got {describe(obj)}. {advice}"
    )


def _not_a_coroutine(obj: object, api: str) -> str:
    what = describe(obj)
    head = f"{api}() takes a coroutine object (what calling an `async def` function returns)"
    advice = _shared_advice(obj, api)
    if advice is not None:
        return f"{head}, but got {what}. {advice}"
    if isinstance(obj, (asyncio.Future, concurrent.futures.Future)) or asyncio.isfuture(obj):
        return (
            f"{head}, but got {what}, which is already scheduled and needs no new task. "
            f"Await it directly, or use taskwise.normalize_awaitable(obj) for mixed inputs."
        )
    if inspect.isawaitable(obj):
        return (
            f"{head}, but got {what}, an awaitable that is not a coroutine. "
            f"Use taskwise.normalize_awaitable(obj), or wrap it: "
            f"`async def run(): return await obj`, then {api}(run())."
        )
    if callable(obj):
        return (
            f"{head}, but got {what}. If it is an `async def` function, call it: "
            f"{api}(func(...)); to run a blocking function in the background, "
            f"use {api}(asyncio.to_thread(func, ...))."
        )
    return (
        f"{head}, but got {what}. Was the function you called declared with `def` "
        f"instead of `async def`, so that it already ran and returned this value? "
        f"Make it `async def` and call {api}(func(...)); for blocking work use "
        f"{api}(asyncio.to_thread(func, ...))."
    )


def no_running_loop(obj: object, api: str) -> NoReturn:
    """Close *obj* and raise the RuntimeError for a call made outside a running loop."""
    close_quietly(obj)
    arg = f"{obj.__qualname__}(...)" if isinstance(obj, CoroutineType) else "coro"
    raise RuntimeError(not_on_asyncio(f"{api}({arg})") + " The coroutine was closed.")


def not_on_asyncio(call: str) -> str:
    """Why *call* cannot run here: no asyncio loop, and what to do about it."""
    other = other_async_library()
    if other is not None:
        return (
            f"{call} needs asyncio, but this code runs under {other} (anyio's {other} "
            f"backend, perhaps). taskwise works on asyncio only: run this code on asyncio "
            f"(anyio.run(main, backend='asyncio'), or backend='asyncio' in your test "
            f"fixtures), or use {other}'s own task groups here."
        )
    return (
        f"{call} needs a running event loop in this thread, and there is none. "
        f"Call it from async code (or a callback) running in the loop; start one with "
        f"asyncio.run(main()); from another thread use "
        f"asyncio.run_coroutine_threadsafe(coro, loop)."
    )


def other_async_library() -> str | None:
    """The async library running the current code, when it is one that is not asyncio."""
    sniffio = sys.modules.get("sniffio")
    if sniffio is not None:
        try:
            name = sniffio.current_async_library()
        except Exception:  # sniffio.AsyncLibraryNotFoundError: none at all
            name = None
        if isinstance(name, str) and name != "asyncio":
            return name
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            return "trio"
    return None
