"""Bearer-token authentication of the service's mutations (``POST`` endpoints).

The token comes from the environment only (``HOUSEEDGE_SERVICE_TOKEN``, held as a pydantic
``SecretStr`` so it never prints). With no token configured, mutations are *disabled* (403):
an operator who forgot to set one gets a service that can be watched but not steered, rather
than one anybody on the host can steer. A missing or wrong token answers 401 before the body
is read, so nothing changes. Tokens are compared with :func:`hmac.compare_digest` (constant
time), and neither the expected nor the presented token is ever logged or echoed.
"""

from __future__ import annotations

import hmac
from typing import Final

from aiohttp import web
from pydantic import SecretStr

from houseedge.live.service._http import json_error

__all__ = ["BearerAuth"]

_SCHEME: Final = "bearer "


class BearerAuth:
    """Check ``Authorization: Bearer <token>`` on a request and name the operator.

    Parameters
    ----------
    token
        The expected token; ``None`` (or empty) disables every mutation.
    operator
        The operator name passed to the engine for an authenticated request.

    Examples
    --------
    >>> from aiohttp.test_utils import make_mocked_request
    >>> auth = BearerAuth(SecretStr("s3cret"), operator="desk")
    >>> auth.operator_for(make_mocked_request("POST", "/pause",
    ...     headers={"Authorization": "Bearer s3cret"}))
    'desk'
    >>> auth.operator_for(make_mocked_request("POST", "/pause")).status
    401
    >>> BearerAuth(None).operator_for(make_mocked_request("POST", "/pause")).status
    403
    """

    def __init__(self, token: SecretStr | None, *, operator: str = "bearer") -> None:
        secret = token.get_secret_value() if token is not None else ""
        self._token = secret.encode() if secret else None
        self.operator = operator

    @property
    def enabled(self) -> bool:
        """Return whether mutations are allowed at all (a token is configured)."""
        return self._token is not None

    def operator_for(self, request: web.Request) -> str | web.Response:
        """Return the operator name, or the 401/403 response to send instead."""
        if self._token is None:
            return json_error(
                403,
                "mutations are disabled: no service token is configured",
                expected="set HOUSEEDGE_SERVICE_TOKEN in the service's environment",
            )
        header = request.headers.get("Authorization", "")
        presented = header[len(_SCHEME) :] if header[: len(_SCHEME)].lower() == _SCHEME else ""
        # compare_digest on bytes: constant time for equal lengths, and no early exit on the
        # first differing byte that would let a caller guess the token one byte at a time.
        if presented and hmac.compare_digest(presented.encode(), self._token):
            return self.operator
        response = json_error(
            401, "missing or invalid bearer token", expected="Authorization: Bearer <token>"
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="houseedge"'
        return response
