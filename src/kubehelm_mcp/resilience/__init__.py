"""Resilience for every call: timeouts, retries of idempotent reads, a circuit breaker per
cluster, a bulkhead, a per-caller rate limit and an optional read cache."""

from kubehelm_mcp.resilience.guard import Resilience
from kubehelm_mcp.resilience.timeouts import call_timeout

__all__ = ["Resilience", "call_timeout"]
