"""The engine as an HTTP service: health, metrics, SSE stream, operator controls.

The service talks to the engine only through :class:`~houseedge.live.control.EngineHandle`.

==========================  =====  ===========================================================
endpoint                    auth   answer
==========================  =====  ===========================================================
``GET /health``             no     200 while the process serves: ``{"status", "engine", ...}``
``GET /ready``              no     200 when ``engine.ready`` (and not draining), else 503
``GET /metrics``            no     Prometheus text (:mod:`houseedge.live.observability`)
``GET /positions``          no     ``{"positions": [...]}``
``GET /orders``             no     ``{"orders": [...]}``; ``?open=true`` for working orders
``GET /fills``              no     ``{"fills": [...]}``; ``?since=<ns>&limit=<n>``
``GET /risk``               no     the risk snapshot
``GET /strategies``         no     ``{"strategies": [...]}``: state, positions, PnL, last decision
``GET /events``             no     Server-Sent Events, resumable (see ``_sse``)
``POST /kill``              yes    ``{"flatten": bool}``: halt, cancel open orders, flatten?
                                   (answers what it cancelled and sent; kept across restarts)
``POST /reset``             yes    clear the kill switch and the breakers (the operator's name
                                   is journaled)
``POST /pause``             yes    stop new policy decisions
``POST /resume``            yes    resume them
``POST /flatten``           yes    close every position through the risk gate
``POST /orders``            yes    a :class:`~houseedge.live.control.ManualOrder` as JSON (with
                                   ``policy``: on that strategy's position); 422 with the risk
                                   check's name when the gate refuses it
``GET /orders/{id}``        no     one order; 404 naming the id when unknown
``DELETE /orders/{id}``     yes    cancel it: ``{"requested", "status", ...}`` (audited)
``POST /positions/{s}/{y}`` yes    ``.../close``: close strategy ``s``'s position in symbol ``y``
                                   (``{"qty": q}`` for part of it) through the risk gate
``POST /strategies/*/*``    yes    ``/strategies/{name}/{action}``, the strategy manager:
                                   ``pause``, ``resume``, ``disable``, ``enable``, ``reset`` (a
                                   failed one), ``kill`` (``{"flatten": bool}``), ``reload``,
                                   ``add`` (``{"policy", "params", "symbols", "units"}``),
                                   ``blackout`` (``{"start", "end", "reductions"}``, UTC ns);
                                   409 with the reason when not possible
==========================  =====  ===========================================================

Authentication (:mod:`houseedge.live.service._auth`): ``Authorization: Bearer <token>`` with the
token from ``HOUSEEDGE_SERVICE_TOKEN``. Missing or wrong: 401 before the body is read, nothing
changes. No token configured: every mutation answers 403 (the service is read-only). Bad query
or body: 400 with ``{"error", "field", "expected"}``. An order the risk gate refuses: 422 with
the check's name. While draining, mutations answer 503.

Drain (:meth:`Service.drain`, on SIGTERM/SIGINT in :func:`run_service`), as arq does it: mark
the service draining (``/ready`` 503, mutations 503), stop the engine taking decisions within
``drain_timeout`` seconds, end every SSE stream with a final comment naming the id to resume
from, stop listening, and log ``service_drained`` with the counts.
"""

from houseedge.live.service._server import KillRequest, Service, run_service
from houseedge.live.service.settings import ServiceSettings

__all__ = ["KillRequest", "Service", "ServiceSettings", "run_service"]
