"""A minimal Server-Sent Events reader over aiohttp, for the service's tests and benchmark."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class Frame:
    """One SSE block: an event (``id``/``event``/``data``), a comment or a ``retry`` hint."""

    id: int | None = None
    event: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.data or "null")


async def frames(response: aiohttp.ClientResponse) -> AsyncIterator[Frame]:
    """Yield each block of an SSE response as it arrives."""
    frame = Frame()
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if not line:
            yield frame
            frame = Frame()
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            frame.comments.append(value)
        elif name == "id":
            frame.id = int(value)
        elif name == "event":
            frame.event = value
        elif name == "data":
            frame.data = value if frame.data is None else f"{frame.data}\n{value}"
        elif name == "retry":
            frame.retry = int(value)
