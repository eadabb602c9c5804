"""The one name -> builder registry: what a config key picks a backend from.

``STORES = Registry("store.backend", {"sqlite": ..., "redis": ...})``; then
``STORES["sqlite"]`` is the builder and ``STORES["nope"]`` raises the one
error message every registry gives, naming the setting and the valid names:
``ValueError: store.backend 'nope': unknown (valid: redis, sqlite)``.
Iterating, ``len``, ``in`` and ``sorted`` work as on a dict;
``register(name)`` adds an entry (as a decorator too).

Tested in ``tests/test_registry.py`` and by every registry's tests.
"""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Names -> builders (or classes) for the config key ``setting``; see the module docstring."""

    def __init__(self, setting: str, entries: dict[str, T] | None = None):
        self.setting = setting
        self._entries: dict[str, T] = dict(entries or {})

    def register(self, name: str, entry: T | None = None):
        """Add ``entry`` under ``name``; without ``entry``, a decorator that adds what it decorates."""
        if entry is not None:
            self._entries[name] = entry
            return entry

        def add(thing: T) -> T:
            self._entries[name] = thing
            return thing
        return add

    def __getitem__(self, name: str) -> T:
        if name not in self._entries:
            raise ValueError(self.unknown(name))
        return self._entries[name]

    def unknown(self, name) -> str:
        """The one-line error for a name that is not registered."""
        return f"{self.setting} '{name}': unknown (valid: {', '.join(sorted(self._entries))})"

    def check(self, name: str) -> str:
        """``name`` when registered; else ``ValueError`` (for settings validated before use)."""
        self[name]
        return name

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self):
        return self._entries.keys()

    def items(self):
        return self._entries.items()

    def values(self):
        return self._entries.values()

    def build(self, name: str, *args, **kwargs):
        """``self[name](*args, **kwargs)``: build the named backend."""
        builder: Callable = self[name]
        return builder(*args, **kwargs)
