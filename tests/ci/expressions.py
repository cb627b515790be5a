"""GitHub Actions' expression language, the part job conditions use, to evaluate a workflow's
`if:` against an event's contexts the way the runner does (literals, context paths, ``!``,
``==``, ``!=``, ``&&``, ``||``, parentheses, ``contains``, ``startsWith``; string comparison
ignores case, as GitHub's does; status functions as after jobs that succeeded)."""

from __future__ import annotations

import re
from typing import Any

TOKEN = re.compile(r"\s*(?:(\|\||&&|==|!=|[()!,])|('(?:[^']|'')*')|([A-Za-z_][\w.\-*]*)|(\d+(?:\.\d+)?))")


def _tokens(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    found, at = [], 0
    while at < len(text.rstrip()):
        match = TOKEN.match(text, at)
        if not match:
            raise ValueError(f"cannot read the expression at: {text[at:]!r}")
        found.append(match.group().strip())
        at = match.end()
    return found


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return a == b


def evaluate(text: str, contexts: dict[str, Any]) -> Any:
    """The value of ``text`` (an ``if:``, with or without ``${{ }}``) given ``contexts``."""
    tokens = _tokens(text)
    at = 0

    def peek() -> str | None:
        return tokens[at] if at < len(tokens) else None

    def take() -> str:
        nonlocal at
        at += 1
        return tokens[at - 1]

    def either() -> Any:
        value = both()
        while peek() == "||":
            take()
            right = both()
            value = value or right
        return value

    def both() -> Any:
        value = compared()
        while peek() == "&&":
            take()
            right = compared()
            value = value and right
        return value

    def compared() -> Any:
        value = unary()
        while peek() in ("==", "!="):
            op, right = take(), unary()
            value = _same(value, right) if op == "==" else not _same(value, right)
        return value

    def unary() -> Any:
        if peek() == "!":
            take()
            return not unary()
        return atom()

    def atom() -> Any:
        token = take()
        if token == "(":
            value = either()
            take()  # ")"
            return value
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        if re.fullmatch(r"\d+(\.\d+)?", token):
            return float(token)
        if token in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token]
        if peek() == "(":  # a function
            take()
            args = [] if peek() == ")" else [either()]
            while peek() == ",":
                take()
                args.append(either())
            take()  # ")"
            return _call(token, args)
        return _path(token, contexts)

    return either()


def _path(dotted: str, contexts: dict[str, Any]) -> Any:
    value: Any = contexts
    for part in dotted.split("."):
        if part == "*":  # an object filter: the values of every item
            return value
        if isinstance(value, list):
            value = [item.get(part) if isinstance(item, dict) else None for item in value]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


# The status functions, as a job whose needs all succeeded sees them.
STATUS = {"always": True, "success": True, "failure": False, "cancelled": False}


def _call(name: str, args: list[Any]) -> Any:
    if name in STATUS:
        return STATUS[name]
    if name == "contains":
        haystack, needle = args
        if isinstance(haystack, list):
            return any(_same(item, needle) for item in haystack)
        return str(needle).lower() in str(haystack or "").lower()
    if name == "startsWith":
        return str(args[0] or "").lower().startswith(str(args[1]).lower())
    raise ValueError(f"function {name} is not evaluated here")
