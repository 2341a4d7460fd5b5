"""The one place for what every tool call needs, in this order: policy -> input validation ->
target resolution -> timeout and resilience (resilience/) -> handler -> shaping (sanitise,
budget, text) -> scrubbing -> telemetry. A tool never repeats any of this, and nothing here names a tool."""

from kubehelm_mcp.pipeline.runner import CallPipeline, Outcome

__all__ = ["CallPipeline", "Outcome"]
