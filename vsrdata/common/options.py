"""Declared options of a plugin (a model's builder, a crawl source), given as NAME=VALUE text.

A plugin declares ``{name: Option(default, help, ...)}``; the CLI collects ``NAME=VALUE``
strings (``--model-option depth=10``, ``--source-option web.url=https://...``) and
:func:`resolve` turns them into typed values with the defaults filled in, or a
:class:`~vsrdata.errors.UsageError` naming what is wrong. The CLI needs no code per plugin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vsrdata.errors import UsageError

_BOOLS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
_KINDS = {bool: "true or false", int: "an integer", float: "a number", str: "text"}


@dataclass(frozen=True)
class Option:
    """An option's default (its type too), help, allowed values (None: any), bounds,
    and whether it may be given several times (values gathered in a tuple of strings)."""

    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    repeatable: bool = False

    def check(self, name: str, value: Any) -> Any:
        """``value`` (text or typed) as this option's type; UsageError if it does not fit."""
        if self.repeatable:
            values = value if isinstance(value, list | tuple) else [value]
            return tuple(Option("", self.help, self.choices).check(name, v) for v in values)
        kind = type(self.default)
        if kind is bool:
            typed = value if isinstance(value, bool) else _BOOLS.get(str(value).lower())
        else:
            try:
                typed = kind(value)
            except (TypeError, ValueError):
                typed = None
        if (
            typed is None
            or (self.choices is not None and typed not in self.choices)
            or (self.minimum is not None and typed < self.minimum)
            or (self.maximum is not None and typed > self.maximum)
        ):
            allowed = _KINDS.get(kind, kind.__name__)
            if self.choices:
                allowed = ", ".join(map(str, self.choices))
            elif self.minimum is not None and self.maximum is not None:
                allowed += f" from {self.minimum:g} to {self.maximum:g}"
            elif self.minimum is not None:
                allowed += f" of at least {self.minimum:g}"
            elif self.maximum is not None:
                allowed += f" of at most {self.maximum:g}"
            raise UsageError(f"option {name} takes {allowed}, got {value!r}")
        return typed

    def describe(self, name: str) -> str:
        """``name (default 1): help`` for a help text."""
        if self.repeatable:
            return f"{name} (repeatable): {self.help}"
        if self.default in ("", None):
            return f"{name}: {self.help}"
        return f"{name} (default {self.default}): {self.help}"


def resolve(owner: str, declared: Mapping[str, Option], given: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared option's value: the defaults, overridden by ``given`` (checked).

    A value given as a list (several ``NAME=VALUE`` of one name) suits a repeatable option
    only."""
    unknown = set(given) - set(declared)
    if unknown:
        known = ", ".join(declared) or "none"
        raise UsageError(f"{owner} has no option {', '.join(sorted(unknown))} (options: {known})")
    out = {}
    for key, opt in declared.items():
        if key not in given:
            out[key] = opt.default
            continue
        value = given[key]
        if isinstance(value, list) and not opt.repeatable:
            if len(value) > 1:
                raise UsageError(f"option {key} of {owner} is given {len(value)} times")
            value = value[0]
        out[key] = opt.check(key, value)
    return out


def parse_assignments(items: list[str] | tuple[str, ...], flag: str) -> dict[str, list[str]]:
    """``["depth=10", "url=a", "url=b"]`` -> ``{"depth": ["10"], "url": ["a", "b"]}``."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} takes NAME=VALUE, got {item!r}")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def require_at_least(config: Any, names: tuple[str, ...], minimum: int = 1) -> None:
    """A configuration's integer fields ``names`` are each at least ``minimum`` (None skips
    a field), else a usage error naming its command-line flag."""
    for name in names:
        value = getattr(config, name)
        if value is not None and value < minimum:
            raise UsageError(f"--{name.replace('_', '-')} must be at least {minimum}, got {value}")
