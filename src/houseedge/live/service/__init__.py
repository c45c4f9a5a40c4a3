"""The engine as an HTTP service: health, metrics, SSE stream, operator controls."""

from houseedge.live.service._server import KillRequest, Service, ServiceSettings, run_service

__all__ = ["KillRequest", "Service", "ServiceSettings", "run_service"]
