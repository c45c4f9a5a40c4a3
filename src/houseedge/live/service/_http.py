"""JSON in and out at the service's HTTP edge.

Bodies are decoded once, at the edge, by msgspec ``Decoder`` objects built at import; a bad body
becomes a 400 whose JSON names the field and what was expected (from msgspec's message, which
describes the schema, not the rest of the body). Responses are encoded by msgspec,
which writes ``Decimal`` quantities as strings, so exact ledger values stay exact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final, TypeVar

import msgspec
from aiohttp import web

__all__ = ["BodyError", "decode_body", "json_error", "json_response", "plain"]

T = TypeVar("T")

_encoder: Final = msgspec.json.Encoder(enc_hook=str)
_FIELD_AT = re.compile(r"- at `\$\.([\w.\[\]]+)`")
_FIELD_NAMED = re.compile(r"field `(\w+)`")
_LEADING_NAME = re.compile(r"^([a-z_][a-z0-9_]*) (?:must|should|is) ")


class BodyError(ValueError):
    """A request body that does not decode into what the endpoint expects."""

    def __init__(self, message: str, *, field: str | None, expected: str) -> None:
        super().__init__(message)
        self.field = field
        self.expected = expected


def plain(value: object) -> object:
    """Return ``value`` with mappings as dicts and sequences as lists, for the encoder.

    Examples
    --------
    >>> from types import MappingProxyType
    >>> plain(MappingProxyType({"a": (1, MappingProxyType({"b": 2}))}))
    {'a': [1, {'b': 2}]}
    """
    if isinstance(value, Mapping):
        items: Mapping[object, object] = value  # pyright: ignore[reportUnknownVariableType]
        return {str(k): plain(v) for k, v in items.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        elements: Sequence[object] = value  # pyright: ignore[reportUnknownVariableType]
        return [plain(v) for v in elements]
    return value


def json_response(body: object, *, status: int = 200) -> web.Response:
    """Return a JSON response (msgspec-encoded; unknown types as their ``str``)."""
    return web.Response(
        body=_encoder.encode(plain(body)), status=status, content_type="application/json"
    )


def json_error(
    status: int, message: str, *, field: str | None = None, expected: str | None = None
) -> web.Response:
    """Return ``{"error": message, "field": ..., "expected": ...}`` with ``status``.

    Examples
    --------
    >>> json_error(400, "bad", field="qty", expected="a number").text
    '{"error":"bad","field":"qty","expected":"a number"}'
    """
    body: dict[str, object] = {"error": message}
    if field is not None:
        body["field"] = field
    if expected is not None:
        body["expected"] = expected
    return json_response(body, status=status)


def decode_body(decoder: msgspec.json.Decoder[T], raw: bytes, *, what: str) -> T:
    """Decode ``raw`` with ``decoder``, or raise :class:`BodyError` naming the bad field.

    Examples
    --------
    >>> class Kill(msgspec.Struct):
    ...     flatten: bool = False
    >>> decoder = msgspec.json.Decoder(Kill)
    >>> decode_body(decoder, b'{"flatten": true}', what="kill request")
    Kill(flatten=True)
    >>> try:
    ...     decode_body(decoder, b'{"flatten": "yes"}', what="kill request")
    ... except BodyError as exc:
    ...     print(exc.field, "|", exc.expected)
    flatten | Expected `bool`, got `str`
    """
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        message = str(exc)
        raise BodyError(
            f"invalid {what}: {message}", field=_field_of(message), expected=_expected(message)
        ) from None
    except msgspec.DecodeError:
        raise BodyError(
            f"invalid {what}: the body is not valid JSON", field=None, expected="a JSON object"
        ) from None


def _field_of(message: str) -> str | None:
    for pattern in (_FIELD_AT, _FIELD_NAMED, _LEADING_NAME):
        match = pattern.search(message)
        if match:
            return match.group(1)
    return None


def _expected(message: str) -> str:
    # msgspec says "Expected `float`, got `str` - at `$.qty`": the part before the path is the
    # expectation; messages from __post_init__ ("qty must be > 0, not -1.0") say it whole.
    return message.split(" - at ", 1)[0]
