"""Query-string parameters of the API, held to what the OpenAPI document says of them: a value that
does not fit is a 422 naming the parameter, never a 500 (SQLite refuses integers past 64 bits, an
OFFSET past them overflows) and never silently bent into another value. An absent parameter takes
its default; an empty one is a value like any other (for a number or a choice, a wrong one)."""
from __future__ import annotations

import math
import re

from flask import request

from marketplace.api.errors import ApiError

MAX_ID = 2**31 - 1  # the largest id PostgreSQL's integer columns hold
MAX_PAGE = 100_000
MAX_RADIUS_KM = 1000
_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")
_NUMBER = re.compile(r"[+-]?([0-9]{1,20}(\.[0-9]*)?|\.[0-9]+)")


def _refuse(name: str, expected: str):
    raise ApiError(422, "invalid", f"Paramètre « {name} » invalide : {expected}.", {name: expected})


def integer(name: str, default: int | None = None, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """An integer from minimum to maximum; the default when absent."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        _refuse(name, f"un entier de {minimum} à {maximum}")
    return int(raw)


def number(name: str, default: float | None = None, minimum: float = 0, maximum: float = MAX_ID) -> float | None:
    """A decimal number (a point, no exponent) from minimum to maximum; the default when absent."""
    raw = request.args.get(name)
    if raw is None:
        return default
    value = float(raw) if _NUMBER.fullmatch(raw) else math.nan
    if not minimum <= value <= maximum:  # NaN compares false: refused too
        _refuse(name, f"un nombre de {minimum:g} à {maximum:g}")
    return value


def choice(name: str, choices) -> str | None:
    """One of the choices; None when absent."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw not in choices:
        _refuse(name, "l'une des valeurs " + ", ".join(choices))
    return raw


def pattern(name: str, regex: str, expected: str, max_length: int | None = None) -> str | None:
    """A text matching the regular expression (and not longer than max_length); None when absent."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if (max_length is not None and len(raw) > max_length) or not re.fullmatch(regex, raw):
        _refuse(name, expected)
    return raw


def text(name: str, max_length: int) -> str | None:
    """A free text of at most max_length characters, without NUL (PostgreSQL text cannot hold it)."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if len(raw) > max_length:
        _refuse(name, f"{max_length} caractères au plus")
    if "\x00" in raw:
        _refuse(name, "caractère nul interdit")
    return raw


def boolean(name: str) -> bool:
    """true/false (or 1/0); False when absent."""
    raw = request.args.get(name, "false").lower()
    if raw in ("0", "false"):
        return False
    if raw in ("1", "true"):
        return True
    _refuse(name, "true ou false")
