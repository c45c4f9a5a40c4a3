"""The engine as an HTTP service: health, metrics, SSE stream, operator controls."""

from houseedge.live.service._server import KillRequest, Service, run_service
from houseedge.live.service.settings import ServiceSettings

__all__ = ["KillRequest", "Service", "ServiceSettings", "run_service"]
