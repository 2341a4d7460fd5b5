"""Why an object is not working: the facts that explain a failure, each once (k8s_diagnose)."""
