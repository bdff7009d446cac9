"""The runtime core: spawn(), TaskGroup, normalize_awaitable() and what they share.

Nothing here imports the observability layer's optional parts, the integrations or the
command-line tools; everything else is built on top of this package.
"""

__all__: list[str] = []
