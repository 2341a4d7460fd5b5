"""A mid-size chart: `helm create`'s, plus templates that run no pod (the helm benchmark's cluster
has no node), each with the chart's own name and labels."""

from __future__ import annotations

from pathlib import Path

from testcluster.controlplane import ControlPlane
from testcluster.install import Binaries

from bench import seed

NAME = "demo"  # also the prefix of the helpers `helm create` writes
VALUES = "\nconfig:\n  LOG_LEVEL: info\n  LISTEN: ':8080'\n  CACHE_TTL: 30s\n"
SELECTOR = '{{- include "demo.selectorLabels" . | nindent 6 }}'


def _manifest(api_version: str, kind: str, body: str, suffix: str = "") -> str:
    return (
        f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n"
        f'  name: {{{{ include "demo.fullname" . }}}}{suffix}\n'
        '  labels:\n    {{- include "demo.labels" . | nindent 4 }}\n' + body
    )


EXTRA_TEMPLATES = {
    "configmap.yaml": _manifest(
        "v1",
        "ConfigMap",
        "data:\n  {{- range $key, $value := .Values.config }}\n  {{ $key }}: {{ $value | quote }}\n  {{- end }}\n",
        "-config",
    ),
    "role.yaml": _manifest(
        "rbac.authorization.k8s.io/v1",
        "Role",
        'rules:\n  - apiGroups: [""]\n    resources: ["configmaps", "pods"]\n    verbs: ["get", "list", "watch"]\n',
    ),
    "rolebinding.yaml": _manifest(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n"
        '  name: {{ include "demo.fullname" . }}\nsubjects:\n  - kind: ServiceAccount\n'
        '    name: {{ include "demo.serviceAccountName" . }}\n    namespace: {{ .Release.Namespace }}\n',
    ),
    # protocol: server-side apply on Kubernetes 1.20 needs it (a key of the ports list-map).
    "networkpolicy.yaml": _manifest(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        f"spec:\n  podSelector:\n    matchLabels:\n      {SELECTOR}\n"
        "  ingress:\n    - ports:\n        - port: {{ .Values.service.port }}\n          protocol: TCP\n",
    ),
    "pdb.yaml": _manifest(
        "policy/v1beta1",
        "PodDisruptionBudget",
        f"spec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      {SELECTOR}\n",
    ),
    "service-metrics.yaml": _manifest(
        "v1",
        "Service",
        "spec:\n  ports:\n    - port: 9090\n      targetPort: 9090\n      protocol: TCP\n      name: metrics\n"
        '  selector:\n    {{- include "demo.selectorLabels" . | nindent 4 }}\n',
        "-metrics",
    ),
}


def create(plane: ControlPlane, binaries: Binaries, workdir: Path) -> Path:
    path = seed.create_chart(plane, binaries, workdir / NAME, EXTRA_TEMPLATES)
    with (path / "values.yaml").open("a") as values:
        values.write(VALUES)
    return path
