"""Audit and migrate the bundled legacy project: ``python examples/audit_demo.py``.

Runs from anywhere with whatever ``python`` is active; it uses this checkout's
``src/`` so no install is needed (libcst is needed for the migrate steps).

1. run the legacy program, 2. ``taskwise audit examples/legacy`` (exit status 1:
it finds things), 3. ``taskwise migrate examples/legacy`` (diff only, nothing
changes), 4. migrate a copy with ``--write`` and run it again: same output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEGACY = Path("examples", "legacy")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


def step(title: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Print a shell-like header, run the command, echo its output and exit status."""
    print(f"\n$ {title}", flush=True)
    done = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=_env(), capture_output=True, text=True, check=False
    )
    sys.stdout.write(done.stdout)
    sys.stdout.write(done.stderr)
    print(f"[exit status {done.returncode}]", flush=True)
    return done


def main() -> int:
    before = step("python examples/legacy/main.py", str(LEGACY / "main.py"))
    step("taskwise audit examples/legacy", "-m", "taskwise", "audit", str(LEGACY))
    step("taskwise migrate examples/legacy", "-m", "taskwise", "migrate", str(LEGACY))
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch, "legacy")
        shutil.copytree(ROOT / LEGACY, copy)
        step(
            "taskwise migrate --write --spawn-dangling <copy of examples/legacy>",
            "-m", "taskwise", "migrate", "--write", "--spawn-dangling", str(copy),
        )  # fmt: skip
        after = step("python <copy>/main.py", str(copy / "main.py"))
    same = before.stdout == after.stdout and before.returncode == after.returncode == 0
    print(f"\nsame output before and after migration: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
