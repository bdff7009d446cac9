"""Integrations with other libraries; each module here is imported only when used."""

__all__: list[str] = []
