"""Which code a run ran: the policy's reference and a sha256 of its module's source.

Both go into a result's ``params`` (``policy_reference``, ``policy_source``), so they are stored
with the run and are part of what defines it: the same file edited is a different run.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import sys
from pathlib import Path
from typing import Any

from houseedge.core.policies.registry import SOURCE_ATTRIBUTE, reference_of

__all__ = ["policy_identity", "source_digest"]


def source_digest(policy: object) -> str | None:
    """Return the sha256 of the source of the module defining ``policy`` (None when unknown).

    A class loaded from a file by reference carries the digest of the bytes it was built from;
    any other class's module file is read (once per class).

    Examples
    --------
    >>> from houseedge.core.policies.builtin import SmaCross
    >>> len(source_digest(SmaCross(5, 20)) or "")
    64
    """
    cls: type[Any] = policy if isinstance(policy, type) else type(policy)
    remembered = vars(cls).get(SOURCE_ATTRIBUTE)
    return remembered if isinstance(remembered, str) else _module_digest(cls)


@functools.cache
def _module_digest(cls: type[Any]) -> str | None:
    module = sys.modules.get(cls.__module__)
    try:
        file = inspect.getsourcefile(module) if module is not None else None
        return hashlib.sha256(Path(file).read_bytes()).hexdigest() if file else None
    except (OSError, TypeError):  # built in, interactive, or gone
        return None


def policy_identity(policy: object) -> dict[str, str | None]:
    """Return ``{"policy_reference": ..., "policy_source": ...}`` for a result's params.

    Examples
    --------
    >>> from houseedge.core.policies.builtin import SmaCross
    >>> policy_identity(SmaCross(5, 20))["policy_reference"]
    'sma_cross'
    """
    return {"policy_reference": reference_of(policy), "policy_source": source_digest(policy)}
