"""Telemetry: Prometheus metrics of Kubernetes and Helm operations and sessions, optional
OpenTelemetry traces, JSON logs. kube/ and helm/ see only the observer hook in `hooks`."""
