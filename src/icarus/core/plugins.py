"""A registry of named plugins that refuses duplicates.

Hash kinds, hash-set formats and (later) sighting formats are plugins: one module each with a
stable ``NAME``, registered in exactly one registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar

from icarus.core.errors import InternalError, UsageError


class Named(Protocol):
    """Anything with a stable name."""

    @property
    def NAME(self) -> str:  # noqa: N802 - the plugin contract uses a constant-style name
        ...


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """Plugins of one family, by their stable ``NAME``."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._items: dict[str, T] = {}

    def register(self, plugin: T) -> T:
        """Add ``plugin``; raises :class:`InternalError` if its name is taken."""
        name = plugin.NAME
        if not name or name != name.strip().lower():
            raise InternalError(f"{self.family} plugin name {name!r} must be lower-case")
        if name in self._items:
            raise InternalError(f"{self.family} plugin {name!r} is registered twice")
        self._items[name] = plugin
        return plugin

    def get(self, name: str) -> T:
        """The plugin called ``name``; a :class:`UsageError` lists the valid names."""
        try:
            return self._items[name.lower()]
        except KeyError:
            valid = ", ".join(sorted(self._items))
            raise UsageError(f"unknown {self.family} {name!r}; choose one of: {valid}") from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(self._items[n] for n in sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)
