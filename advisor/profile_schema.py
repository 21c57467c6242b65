"""Checks a `greenlint profile --format json` document before `compare` or `merge` reads it.

The schema is the one greenlint writes: it is read from the dataclasses that produce the JSON
(Profile, Device, Line, Projection, RankSummary, Advice, Carbon), so it cannot drift from the
writer. A field without a default is required; a field with one may be missing (documents written
by an older greenlint); unknown keys are ignored. A wrong-typed field is reported by its path
(`profile.devices[0].energy_j must be a number or null, got a string`), never as a traceback
(issue 17, item 14).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from functools import cache
from typing import Any, Union

from greenlint.advice import Advice
from greenlint.carbon import Carbon
from greenlint.profiler.profile import Profile


class SchemaError(ValueError):
    pass


_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "true or false", int: "an integer",
          float: "a number", type(None): "null"}


def _json_kind(value: Any) -> str:
    for kind in (bool, int, float, str, list, dict, type(None)):
        if isinstance(value, kind):
            return _NAMES[kind]
    return type(value).__name__


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if dataclasses.is_dataclass(hint):
        return "an object"
    if hint is Any:
        return "anything"
    return _NAMES.get(origin or hint, str(hint))


def _check(value: Any, hint: Any, path: str) -> None:
    origin = typing.get_origin(hint)
    if hint is Any:
        return
    if origin in (Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                _check(value, option, path)
                return
            except SchemaError:
                continue
        raise SchemaError(f"{path} must be {_describe(hint)}, got {_json_kind(value)}")
    if dataclasses.is_dataclass(hint):
        check_dataclass(value, hint, path)
        return
    if hint is type(None):
        ok = value is None
    elif hint is float:
        # JSON has one number type; an integer is a number. NaN and infinity are not energies.
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint in (str, bool):
        ok = isinstance(value, hint)
    elif origin is list:
        if not isinstance(value, list):
            raise SchemaError(f"{path} must be a list, got {_json_kind(value)}")
        (item,) = typing.get_args(hint) or (Any,)
        for i, element in enumerate(value):
            _check(element, item, f"{path}[{i}]")
        return
    elif origin is dict or hint is dict:
        ok = isinstance(value, dict)
    else:  # a type this module does not know: accept rather than reject valid output
        return
    if not ok:
        raise SchemaError(f"{path} must be {_describe(hint)}, got {_json_kind(value)}")


def check_dataclass(value: Any, cls: type, path: str) -> None:
    if not isinstance(value, dict):
        raise SchemaError(f"{path} must be an object, got {_json_kind(value)}")
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if f.name not in value:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SchemaError(f"{path}.{f.name} is missing")
            continue
        _check(value[f.name], hints[f.name], f"{path}.{f.name}")


def _check_steps(profile: dict[str, Any]) -> None:
    """Values of the right type that the arithmetic still cannot use."""
    for name in ("steps", "steps_seen", "warmup_steps"):
        if name in profile and profile[name] < 0:
            raise SchemaError(f"profile.{name} must not be negative")
    if profile.get("step_group", 1) < 1:
        raise SchemaError("profile.step_group must be at least 1")
    for i, device in enumerate(profile.get("devices", [])):
        if not 0 <= device["tolerance"] <= 10:
            raise SchemaError(f"profile.devices[{i}].tolerance must be a fraction (0.05 for ±5 %)")
    for i, line in enumerate(profile.get("lines", [])):
        if line["share"] < 0:
            raise SchemaError(f"profile.lines[{i}].share must not be negative")
    for name in ("timeline",):
        for i, device in enumerate(profile.get("devices", [])):
            for k, point in enumerate(device.get(name, [])):
                if len(point) < 2:
                    raise SchemaError(f"profile.devices[{i}].{name}[{k}] must be [seconds, watts]")


def validate_document(document: Any) -> None:
    """Raises SchemaError naming the first wrong field of a profile document."""
    if not isinstance(document, dict):
        raise SchemaError(f"the document must be an object, got {_json_kind(document)}")
    if "profile" not in document:
        raise SchemaError("no \"profile\": not a `greenlint profile --format json` document")
    check_dataclass(document["profile"], Profile, "profile")
    _check_steps(document["profile"])
    _check(document.get("advice", []), list[Advice], "advice")
    _check(document.get("carbon"), Carbon | None, "carbon")
    _check(document.get("advice_notices", []), list[str], "advice_notices")
    _check(document.get("measured_fixes", []), list[dict[str, Any]], "measured_fixes")
