"""The one place for what every tool call needs, in this order: policy -> input validation ->
target resolution -> timeout and resilience (resilience/) -> handler -> shaping (sanitise,
budget, text) -> scrubbing -> telemetry. A tool never repeats any of this, and nothing here names a tool.

The runner is `kubehelm_mcp.pipeline.runner.CallPipeline`; this package imports nothing itself, so
a leaf such as `pipeline.scrub` loads without the whole pipeline (the log filter needs it at start).
"""
