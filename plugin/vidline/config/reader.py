"""Reading typed values out of TOML tables, with the key path in every error."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from vidline.config.model import ConfigError

T = TypeVar("T")


class _Section:
    """Reads typed values out of one TOML table, remembering the key path."""

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(path, "must be a table")
        self.data = data
        self.path = path
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _get(self, name: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self.seen.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        # bool is an int in Python; a port of `true` is a mistake, not 1
        if isinstance(value, bool) and kind is not bool:
            raise ConfigError(self.key(name), f"must be {_kind_name(kind)}, not a boolean")
        if not isinstance(value, kind):
            raise ConfigError(self.key(name), f"must be {_kind_name(kind)}")
        return value

    def text(self, name: str, default: Any = "", pattern: re.Pattern[str] | None = None,
            choices: tuple[str, ...] | None = None) -> Any:
        value = self._get(name, str, default)
        if value is None or value == default:
            return value
        if pattern is not None and not pattern.fullmatch(value):
            raise ConfigError(self.key(name), f"{value!r} does not match {pattern.pattern}")
        if choices is not None and value not in choices:
            raise ConfigError(self.key(name), f"{value!r} is not one of {', '.join(choices)}")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value: int = self._get(name, int, default)
        if not low <= value <= high:
            raise ConfigError(self.key(name), f"{value} is outside {low}..{high}")
        return value

    def number(self, name: str, default: float | None, low: float, high: float) -> Any:
        value = self._get(name, (int, float), default)
        if value is not None and not low <= value <= high:
            raise ConfigError(self.key(name), f"{value} is outside {low}..{high}")
        return None if value is None else float(value)

    def flag(self, name: str, default: bool) -> bool:
        value: bool = self._get(name, bool, default)
        return value

    def texts(self, name: str, default: tuple[str, ...] = (),
             pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        value = self._get(name, list, list(default))
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise ConfigError(f"{self.key(name)}[{i}]", "must be a string")
            if pattern is not None and not pattern.fullmatch(item):
                raise ConfigError(f"{self.key(name)}[{i}]",
                                  f"{item!r} does not match {pattern.pattern}")
        return tuple(value)

    def table(self, name: str) -> _Section:
        value = self._get(name, dict, {})
        return _Section(value, self.key(name))

    def tables(self, name: str) -> list[_Section]:
        value = self._get(name, list, [])
        return [_Section(item, f"{self.key(name)}[{i}]") for i, item in enumerate(value)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ConfigError(self.key(unknown[0]), "unknown key")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             list: "an array", dict: "a table"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _read(section: _Section, build: Callable[[_Section], T]) -> T:
    result = build(section)
    section.done()
    return result
