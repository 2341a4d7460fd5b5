"""The kubehelm-mcp chart rendered by both Helm majors: `helm lint --strict` and assertions on the
objects of every values file under charts/kubehelm-mcp/ci/ (no cluster needed)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.charts import Chart, of_kind, one, pod_specs

CHART = Path(__file__).resolve().parent.parent / "charts" / "kubehelm-mcp"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
MAJORS = ("v3", "v4")
NAMESPACE = "khm-render"
SECRET_ENV = re.compile(r"TOKEN|SECRET|KEYS?$|PASSWORD")
TLS_PATHS = {"KUBEHELM_MCP_TLS_CERT", "KUBEHELM_MCP_TLS_KEY"}


_CHART = Chart(CHART, NAMESPACE)
render, render_error = _CHART.render, _CHART.render_error


def env_of(objects: list[dict[str, Any]]) -> dict[str, Any]:
    container = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def secret_values(objects: list[dict[str, Any]], values_file: Path) -> set[str]:
    """Every secret the render knows: the chart-made Secret's data and the file's secrets.create."""
    found = {base64.b64decode(v).decode() for s in of_kind(objects, "Secret") for v in s.get("data", {}).values()}
    created = (yaml.safe_load(values_file.read_text()) or {}).get("secrets", {}).get("create", {})
    return {v for v in [*found, *created.values()] if v}


@pytest.fixture(params=MAJORS)
def helm(request: pytest.FixtureRequest, helm_binaries: dict[str, Path]) -> Path:
    return helm_binaries[request.param]


@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: p.stem)
def test_every_ci_values_file_lints_strictly_and_renders_safely(helm: Path, values_file: Path) -> None:
    linted = _CHART.lint(helm, "-f", str(values_file))
    assert linted.returncode == 0, linted.stdout + linted.stderr
    objects = render(helm, "-f", str(values_file))
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service"} <= kinds

    # Pod Security "restricted", on the server and on the helm test pod
    for spec in pod_specs(objects):
        pod_context = spec["securityContext"]
        assert pod_context["runAsNonRoot"] is True and pod_context["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec["automountServiceAccountToken"] is False
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"]["drop"] == ["ALL"]

    # no secret outside a Secret: not in args, env literals, ConfigMaps or annotations
    secrets = secret_values(objects, values_file)
    for obj in objects:
        if obj["kind"] == "Secret":
            continue
        text = json.dumps(obj)
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{obj['kind']}/{obj['metadata']['name']} carries a secret value"
    assert not of_kind(objects, "ConfigMap")
    for name, value in env_of(objects).items():
        if name in TLS_PATHS:  # paths into the mounted TLS Secret
            assert value.startswith("/etc/kubehelm-mcp/tls/"), value
        elif SECRET_ENV.search(name.removeprefix("KUBEHELM_MCP_")):
            assert isinstance(value, dict) and "secretKeyRef" in value, f"{name} must come from a Secret"
    args = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert not any(a.startswith(("--auth-token", "--obo-client-secret", "--request-state-keys")) for a in args)

    # explicit protocol on every Service port (Helm 4's server-side apply on older API servers)
    for service in of_kind(objects, "Service"):
        assert all(port["protocol"] == "TCP" for port in service["spec"]["ports"])


def test_default_install_is_readonly_without_secrets_and_generates_a_token(helm: Path) -> None:
    objects = render(helm)
    (role,) = of_kind(objects, "ClusterRole")
    assert role["metadata"]["labels"]["kubehelm-mcp.io/rbac-profile"] == "readonly"
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
        assert "secrets" not in rule.get("resources", []), rule
        assert "*" not in rule.get("apiGroups", []), rule
    assert not of_kind(objects, "Role")
    env = env_of(objects)
    assert env["KUBEHELM_MCP_READ_ONLY"] == "true"
    assert "KUBEHELM_MCP_ALLOW_DESTRUCTIVE" not in env
    assert env["KUBEHELM_MCP_AUTH_TOKEN"]["secretKeyRef"] == {"name": "rel-kubehelm-mcp", "key": "auth-token"}
    assert env["KUBEHELM_MCP_LOG_FORMAT"] == "json" and env["KUBEHELM_MCP_AUDIT_LOG"] == "-"
    hosts = env["KUBEHELM_MCP_HTTP_ALLOWED_HOSTS"].split(",")
    assert {"rel-kubehelm-mcp", f"rel-kubehelm-mcp.{NAMESPACE}.svc"} <= set(hosts)
    (secret,) = of_kind(objects, "Secret")
    assert len(base64.b64decode(secret["data"]["auth-token"])) == 48
    # nothing optional without being asked: no ingress, route, autoscaler, budget, policies, monitors
    kinds = {o["kind"] for o in objects}
    assert not kinds & {"Ingress", "HTTPRoute", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"}
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    token_source = pod["volumes"][1]["projected"]["sources"][0]["serviceAccountToken"]
    assert token_source["expirationSeconds"] == 3600
    assert pod["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "ScheduleAnyway"


def test_operator_limited_to_namespaces_writes_only_there(helm: Path) -> None:
    objects = render(helm, "-f", str(CHART / "ci" / "operator-namespaced-values.yaml"))
    (cluster_role,) = of_kind(objects, "ClusterRole")
    assert all(set(r["verbs"]) <= {"get", "list", "watch"} for r in cluster_role["rules"])
    roles = of_kind(objects, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    verbs = {v for r in roles[0]["rules"] for v in r["verbs"]}
    assert {"create", "patch", "delete"} <= verbs
    assert sorted(b["metadata"]["namespace"] for b in of_kind(objects, "RoleBinding")) == ["team-a", "team-b"]
    env = env_of(objects)
    assert "KUBEHELM_MCP_READ_ONLY" not in env
    assert env["KUBEHELM_MCP_DENIED_NAMESPACES"] == "kube-system"
    assert env["KUBEHELM_MCP_QUERY_TIMEOUT"] == "45"


def test_admin_needs_its_confirmation_value(helm: Path) -> None:
    refused = render_error(helm, "--set", "rbac.profile=admin")
    assert "rbac.confirmAdmin=grant-cluster-admin" in refused
    objects = render(helm, "-f", str(CHART / "ci" / "admin-values.yaml"))
    (role,) = of_kind(objects, "ClusterRole")
    assert {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]} in role["rules"]
    assert env_of(objects)["KUBEHELM_MCP_ALLOW_DESTRUCTIVE"] == "false"  # the explicit value wins


def test_custom_and_none_profiles(helm: Path) -> None:
    custom = render(helm, "-f", str(CHART / "ci" / "custom-values.yaml"))
    (role,) = of_kind(custom, "ClusterRole")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]}]
    none = render(helm, "-f", str(CHART / "ci" / "none-values.yaml"))
    assert not of_kind(none, "ClusterRole") and not of_kind(none, "ServiceAccount")
    assert one(none, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "existing-account"


def test_impersonation_gets_impersonate_rights_and_secrets_by_reference(helm: Path) -> None:
    objects = render(helm, "-f", str(CHART / "ci" / "oidc-impersonate-values.yaml"))
    (role,) = of_kind(objects, "ClusterRole")
    impersonate = [r for r in role["rules"] if "impersonate" in r["verbs"]]
    assert {"users", "groups", "serviceaccounts"} <= {res for r in impersonate for res in r["resources"]}
    assert not of_kind(objects, "Secret"), "with existingSecret the chart renders no Secret"
    env = env_of(objects)
    assert env["KUBEHELM_MCP_CLUSTER_IDENTITY"] == "impersonate"
    assert env["KUBEHELM_MCP_OIDC_ISSUER"] == "https://login.example.com/realms/platform"
    assert "KUBEHELM_MCP_AUTH_TOKEN" not in env
    policy = one(objects, "NetworkPolicy")
    egress_cidrs = {
        b["ipBlock"]["cidr"] for rule in policy["spec"]["egress"] for b in rule.get("to", []) if "ipBlock" in b
    }
    assert egress_cidrs == {"10.0.0.1/32", "203.0.113.10/32"}
    test_pod = one(objects, "Pod")
    test_env = {e["name"]: e for e in test_pod["spec"]["containers"][0]["env"]}
    assert test_env["MCP_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "kubehelm-mcp-test-token"


def test_identity_modes_need_oidc(helm: Path) -> None:
    assert "needs auth.mode=oidc" in render_error(helm, "--set", "identity.mode=impersonate")


def test_scaled_release_is_stateless_with_shared_keys_and_budget(helm: Path) -> None:
    values = str(CHART / "ci" / "scaled-exposed-values.yaml")
    # the older policy/v1beta1 and autoscaling/v2beta2 are chosen on the real 1.20 test cluster
    # (tests/test_chart_install.py): helm template always knows the newer versions
    new = render(helm, "-f", values)
    assert one(new, "PodDisruptionBudget")["apiVersion"] == "policy/v1"
    assert one(new, "HorizontalPodAutoscaler")["apiVersion"] == "autoscaling/v2"
    assert "replicas" not in one(new, "Deployment")["spec"]  # the autoscaler owns it
    env = env_of(new)
    assert env["KUBEHELM_MCP_STATELESS"] == "true"
    assert env["KUBEHELM_MCP_REQUEST_STATE_KEYS"]["secretKeyRef"]["key"] == "request-state-keys"
    assert env["KUBEHELM_MCP_TLS_CERT"] == "/etc/kubehelm-mcp/tls/tls.crt"
    hosts = env["KUBEHELM_MCP_HTTP_ALLOWED_HOSTS"].split(",")
    assert "mcp.example.com" in hosts and "mcp.gateway.example.com" in hosts
    ingress = one(new, "Ingress")
    paths = {p["path"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert "/mcp" in paths and "/sse" in paths and "/metrics" not in paths
    probe = one(new, "Deployment")["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["httpGet"]["scheme"] == "HTTPS"


def test_crd_objects_only_when_the_api_exists(helm: Path) -> None:
    values = str(CHART / "ci" / "scaled-exposed-values.yaml")
    without = {o["kind"] for o in render(helm, "-f", values)}
    assert not without & {"HTTPRoute", "ServiceMonitor", "PrometheusRule", "CiliumNetworkPolicy"}
    apis = [
        "gateway.networking.k8s.io/v1/HTTPRoute",
        "monitoring.coreos.com/v1/ServiceMonitor",
        "monitoring.coreos.com/v1/PrometheusRule",
    ]
    objects = render(helm, "-f", values, *[f"--api-versions={api}" for api in apis])
    route = one(objects, "HTTPRoute")
    assert all(rule["timeouts"] == {"request": "0s", "backendRequest": "0s"} for rule in route["spec"]["rules"])
    assert one(objects, "ServiceMonitor")["spec"]["endpoints"][0]["path"] == "/metrics"
    alerts = {r["alert"] for r in one(objects, "PrometheusRule")["spec"]["groups"][0]["rules"]}
    assert "KubehelmMcpDown" in alerts


def test_exec_probes_and_extras(helm: Path) -> None:
    objects = render(helm, "-f", str(CHART / "ci" / "exec-probes-values.yaml"))
    container = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["exec"]["command"] == ["kubehelm-mcp-health", "http://127.0.0.1:8080/health"]
    assert container["args"] == ["serve", "--max-concurrent-calls", "16"]
    assert container["envFrom"] == [{"configMapRef": {"name": "kubehelm-mcp-otel"}}]
    assert container["image"].endswith("@sha256:" + "0123456789abcdef" * 4)
    env = env_of(objects)
    assert env["KUBEHELM_MCP_DISABLED_TOOLS"] == "k8s_exec_pod,helm_plugin_*"
    assert env["KUBEHELM_MCP_READ_CACHE_TTL"] == "2.5" and env["KUBEHELM_MCP_TRACING"] == "true"
    assert env["OTEL_SERVICE_NAME"] == "kubehelm-mcp"


@pytest.mark.parametrize("setting", ["auth-token", "obo-client-secret", "request-state-keys", "tls-key"])
def test_secret_settings_are_refused_as_literals(helm: Path, setting: str) -> None:
    refused = render_error(helm, "--set", f"config.{setting}=oops")
    assert setting in refused and "oops" not in refused


def test_probes_are_overridable(helm: Path) -> None:
    objects = render(
        helm, "--set", "probes.host=127.0.0.1", "--set-json", 'livenessProbe={"tcpSocket":{"port":"http"}}'
    )
    container = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"] == {"tcpSocket": {"port": "http"}}
    assert container["readinessProbe"]["httpGet"]["host"] == "127.0.0.1"


def _leaf_keys(values: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if (
            isinstance(value, dict)
            and value
            and key not in {"config", "resources", "podSecurityContext", "securityContext"}
        ):
            keys += _leaf_keys(value, f"{path}.")
        else:
            keys.append(path)
    return keys


def test_readme_documents_every_value() -> None:
    readme = (CHART / "README.md").read_text()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    missing = [key for key in _leaf_keys(values) if f"`{key}`" not in readme]
    assert not missing, f"charts/kubehelm-mcp/README.md does not document: {missing}"
