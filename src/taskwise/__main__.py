"""``python -m taskwise``: the same command line as the ``taskwise`` console script."""

from __future__ import annotations

from taskwise._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
