"""The mcp-server chart rendered by both Helm majors: `helm lint --strict` and assertions on the
objects of every values file under charts/mcp-server/examples/ and ci/ (no cluster needed), and
the defects the issue found in other charts of its kind, each checked not to come back."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.charts import Chart, of_kind, one, pod_specs

CHART = Path(__file__).resolve().parent.parent / "charts" / "mcp-server"
VALUES_FILES = sorted([*(CHART / "examples").glob("*.yaml"), *(CHART / "ci").glob("*.yaml")])
NAMESPACE = "mcps-render"
OPTIONAL_APIS = [
    "--api-versions",
    "gateway.networking.k8s.io/v1",
    "--api-versions",
    "monitoring.coreos.com/v1/ServiceMonitor",
]
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|API_KEY|_KEY$")


_CHART = Chart(CHART, NAMESPACE)
render, render_error = _CHART.render, _CHART.render_error


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def gateway_config(objects: list[dict[str, Any]], name: str = "rel-mcp-server-config") -> dict[str, Any]:
    (config_map,) = [c for c in of_kind(objects, "ConfigMap") if c["metadata"]["name"] == name]
    loaded: dict[str, Any] = yaml.safe_load(config_map["data"]["gateway.yaml"])
    return loaded


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.fixture(params=("v3", "v4"))
def helm(request: pytest.FixtureRequest, helm_binaries: dict[str, Path]) -> Path:
    return helm_binaries[request.param]


@pytest.mark.parametrize("values_file", VALUES_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_example_and_ci_file_lints_strictly_and_renders_safely(helm: Path, values_file: Path) -> None:
    linted = _CHART.lint(helm, "-f", str(values_file))
    assert linted.returncode == 0, linted.stdout + linted.stderr
    objects = render(helm, "-f", str(values_file), *OPTIONAL_APIS)
    assert of_kind(objects, "Deployment") and of_kind(objects, "Service")
    assert not of_kind(objects, "Secret"), "secrets are only referenced, never rendered"

    for spec in pod_specs(objects):
        # Pod Security "restricted", on every container, init containers and the helm test pod
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for container in containers(spec):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True
            assert context["capabilities"]["drop"] == ["ALL"]
            # argument lists, never shell strings: no "--" glued to a neighbour
            argv = [*container.get("command", []), *container.get("args", [])]
            assert all(isinstance(a, str) for a in argv), f"{container['name']}: every argument is a string: {argv}"
            glued = [a for a in argv if a != "--" and re.search(r"(^|\s)--(\s|$)", a)]
            assert not glued, f"{container['name']}: glued separator in {glued}"
            # each env name once per container
            names = Counter(e["name"] for e in container.get("env", []))
            assert all(n == 1 for n in names.values()), f"{container['name']}: env twice: {names}"
            for name, value in env_of(container).items():
                if SECRET_NAME.search(name):
                    assert isinstance(value, dict) and "secretKeyRef" in value, f"{name} must come from a Secret"
        # every declared port is the one a Service targets
        for container in spec["containers"]:
            assert [p["name"] for p in container.get("ports", [])] in ([], ["http"])
    for service in of_kind(objects, "Service"):
        assert [(p["targetPort"], p["protocol"]) for p in service["spec"]["ports"]] == [("http", "TCP")]

    for deployment in of_kind(objects, "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        gateway = [c for c in spec["containers"] if c["name"] == "gateway"]
        if gateway:  # probes on by default where the gateway serves
            probes = {k: gateway[0][k] for k in ("startupProbe", "livenessProbe", "readinessProbe")}
            text = json.dumps(probes)
            assert "/health" in text and "/readyz" in text
            config = yaml.safe_load(
                next(
                    c
                    for c in of_kind(objects, "ConfigMap")
                    if c["metadata"]["name"].startswith(deployment["metadata"]["name"])
                )["data"]["gateway.yaml"]
            )
            for server in config["servers"].values():
                for name, value in server.get("env", {}).items():
                    if SECRET_NAME.search(name):
                        assert str(value).startswith("${"), f"{name}: a secret reaches the child by ${{VAR}} only"

    for route in of_kind(objects, "HTTPRoute"):
        assert route["spec"]["rules"], "an HTTPRoute always has rules"
    for ingress in of_kind(objects, "Ingress"):
        annotations = ingress["metadata"].get("annotations", {})
        assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600


def test_defaults_need_a_server_and_say_which(helm: Path) -> None:
    assert "mode image needs image.repository" in render_error(helm)


def test_gateway_token_comes_only_from_an_existing_secret(helm: Path) -> None:
    refused = render_error(
        helm, "-f", str(CHART / "examples" / "gateway.yaml"), "--set", "gateway.auth.existingSecret="
    )
    assert "needs gateway.auth.existingSecret" in refused
    objects = render(helm, "-f", str(CHART / "examples" / "gateway.yaml"))
    env = env_of(one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0])
    assert env["KUBEHELM_MCP_AUTH_TOKEN"] == {"secretKeyRef": {"name": "mcp-gateway-token", "key": "token"}}
    test_env = env_of(one(objects, "Pod")["spec"]["containers"][0])
    assert test_env["MCP_TOKEN"] == {"secretKeyRef": {"name": "mcp-gateway-token", "key": "token"}}


def test_shared_gateway_runs_each_mode_as_argument_lists(helm: Path) -> None:
    objects = render(helm, "-f", str(CHART / "examples" / "gateway.yaml"))
    config = gateway_config(objects)
    servers = config["servers"]
    assert config["combined"] is True
    assert servers["memory"]["command"] == "npx"
    assert servers["memory"]["args"] == ["--offline", "--", "@modelcontextprotocol/server-memory@2026.8.31"]
    assert servers["memory"]["cwd"] == "/srv/mcp/memory"
    assert servers["time"]["command"] == "/srv/mcp/time/bin/mcp-server-time"
    assert servers["time"]["args"] == ["--local-timezone", "UTC"] and servers["time"]["timeout"] == 30
    assert servers["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"] == "${MCP_GITHUB_GITHUB_PERSONAL_ACCESS_TOKEN}"
    assert servers["search"] == {
        "url": "https://mcp.internal.example.com/mcp",
        "headers": {"Authorization": "Bearer ${SEARCH_TOKEN}"},
    }
    spec = one(objects, "Deployment")["spec"]["template"]["spec"]
    inits = {c["name"]: c for c in spec["initContainers"]}
    assert list(inits) == ["memory-install", "time-install"]
    assert inits["memory-install"]["command"][-1] == "@modelcontextprotocol/server-memory@2026.8.31"
    assert inits["time-install"]["command"] == ["uv", "tool", "install", "--no-config", "mcp-server-time==2026.10.19"]
    assert env_of(inits["time-install"])["UV_PYTHON_DOWNLOADS"] == "never"
    urls = env_of(one(objects, "Pod")["spec"]["containers"][0])["MCP_URLS"].split(",")
    assert urls[-1] == f"http://rel-mcp-server.{NAMESPACE}.svc:8080/combined/mcp"
    assert f"http://rel-mcp-server.{NAMESPACE}.svc:8080/servers/time/mcp" in urls


def test_explicit_false_stays_false(helm: Path) -> None:
    """`default` turns false into true; the chart never uses it on a boolean."""
    objects = render(helm, "-f", str(CHART / "examples" / "gateway.yaml"), "--set", "gateway.combined=false")
    assert gateway_config(objects)["combined"] is False
    assert "/combined/mcp" not in env_of(one(objects, "Pod")["spec"]["containers"][0])["MCP_URLS"]
    objects = render(helm, "-f", str(CHART / "examples" / "image.yaml"), "--set", "serviceAccount.automountToken=false")
    assert one(objects, "Deployment")["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    objects = render(helm, "-f", str(CHART / "examples" / "image.yaml"), "--set", "tests.enabled=false")
    assert not of_kind(objects, "Pod")


def test_a_users_env_replaces_the_charts_never_doubles_it(helm: Path) -> None:
    objects = render(helm, "-f", str(CHART / "examples" / "node.yaml"), "--set", "server.env.HOME=/data")
    spec = one(objects, "Deployment")["spec"]["template"]["spec"]
    for container in containers(spec):
        homes = [e for e in container["env"] if e["name"] == "HOME"]
        assert homes == [{"name": "HOME", "value": "/data"}], container["name"]


def test_node_mode_with_its_own_http(helm: Path) -> None:
    objects = render(helm, "-f", str(CHART / "examples" / "node.yaml"))
    spec = one(objects, "Deployment")["spec"]["template"]["spec"]
    (server,) = spec["containers"]
    assert server["image"] == "docker.io/library/node:22-bookworm-slim"
    assert server["command"] == ["npx"]
    assert server["args"] == ["--offline", "--", "@modelcontextprotocol/server-everything@2026.8.31", "streamableHttp"]
    assert server["workingDir"] == "/srv/mcp/everything"
    assert server["ports"] == [{"name": "http", "containerPort": 3001, "protocol": "TCP"}]
    assert "livenessProbe" not in server  # the chart cannot know a foreign server's health path
    assert not of_kind(objects, "ConfigMap")
    urls = env_of(one(objects, "Pod")["spec"]["containers"][0])["MCP_URLS"]
    assert urls == f"http://rel-mcp-server.{NAMESPACE}.svc:8080/mcp"
    refused = render_error(helm, "-f", str(CHART / "examples" / "node.yaml"), "--set", "server.node.package=left-pad")
    assert "needs an exact version" in refused


def test_npmrc_secret_reaches_only_the_install(helm: Path) -> None:
    objects = render(helm, "-f", str(CHART / "examples" / "node-stdio.yaml"))
    spec = one(objects, "Deployment")["spec"]["template"]["spec"]
    (install,) = spec["initContainers"]
    assert env_of(install)["NPM_CONFIG_USERCONFIG"] == "/etc/mcp-npmrc/.npmrc"
    assert {"name": "npmrc-memory", "mountPath": "/etc/mcp-npmrc", "readOnly": True} in install["volumeMounts"]
    assert all(m["name"] != "npmrc-memory" for m in spec["containers"][0]["volumeMounts"])
    volume = next(v for v in spec["volumes"] if v["name"] == "npmrc-memory")
    assert volume["secret"] == {
        "secretName": "npm-credentials",
        "defaultMode": 0o440,
        "items": [{"key": ".npmrc", "path": ".npmrc"}],
    }
    assert gateway_config(objects)["default"] == "memory"


def test_python_pip_from_git(helm: Path) -> None:
    objects = render(helm, "-f", str(CHART / "examples" / "python-pip-git.yaml"))
    spec = one(objects, "Deployment")["spec"]["template"]["spec"]
    venv, install = spec["initContainers"]
    assert venv["command"] == ["python3", "-m", "venv", "/srv/mcp/fetch/venv"]
    assert install["command"] == [
        "/srv/mcp/fetch/venv/bin/python",
        "-m",
        "pip",
        "install",
        "git+https://github.com/modelcontextprotocol/servers.git@2025.7.29#subdirectory=src/fetch",
    ]
    server = spec["containers"][0]
    assert server["image"] == "docker.io/library/python:3.12-slim-bookworm"
    assert [server["command"][0], *server["args"]] == [
        "/srv/mcp/fetch/venv/bin/mcp-server-fetch",
        "--transport",
        "sse",
        "--port",
        "8000",
    ]
    assert env_of(one(objects, "Pod")["spec"]["containers"][0])["MCP_URLS"].endswith(":8080/sse")


def test_one_deployment_per_server_with_its_own_scheduling(helm: Path) -> None:
    objects = render(helm, "-f", str(CHART / "examples" / "gateway-per-server.yaml"), *OPTIONAL_APIS)
    deployments = {d["metadata"]["name"]: d for d in of_kind(objects, "Deployment")}
    assert set(deployments) == {"rel-mcp-server-memory", "rel-mcp-server-time"}
    memory = deployments["rel-mcp-server-memory"]["spec"]
    time_ = deployments["rel-mcp-server-time"]["spec"]
    assert memory["replicas"] == 1 and time_["replicas"] == 2
    assert memory["template"]["spec"]["containers"][0]["resources"]["limits"] == {"memory": "256Mi"}
    assert time_["template"]["spec"]["containers"][0]["resources"]["limits"] == {"memory": "512Mi"}
    assert time_["template"]["spec"]["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
    assert "nodeSelector" not in memory["template"]["spec"]
    assert memory["selector"]["matchLabels"]["app.kubernetes.io/component"] == "memory"
    assert gateway_config(objects, "rel-mcp-server-time-config") == {
        "servers": {"time": {"command": "/srv/mcp/time/bin/mcp-server-time", "args": [], "env": {"HOME": "/tmp"}}},
        "combined": False,
        "default": "time",
    }
    env = env_of(memory["template"]["spec"]["containers"][0])
    assert env["KUBEHELM_MCP_OIDC_ISSUER"] == "https://login.example.com/realms/platform"
    assert env["KUBEHELM_MCP_REQUIRED_SCOPES"] == "mcp" and "KUBEHELM_MCP_AUTH_TOKEN" not in env
    (route,) = of_kind(objects, "HTTPRoute")
    rules = [
        (r["matches"][0]["path"]["value"], r["backendRefs"][0]["name"], r["timeouts"]) for r in route["spec"]["rules"]
    ]
    long = {"request": "3600s", "backendRequest": "3600s"}
    assert rules == [("/servers/memory", "rel-mcp-server-memory", long), ("/servers/time", "rel-mcp-server-time", long)]
    assert len(of_kind(objects, "PodDisruptionBudget")) == 2 and len(of_kind(objects, "ServiceMonitor")) == 2


def test_optional_apis_only_when_the_cluster_serves_them(helm: Path) -> None:
    values = ["-f", str(CHART / "examples" / "gateway-per-server.yaml")]
    kinds = {o["kind"] for o in render(helm, *values)}
    assert "HTTPRoute" not in kinds and "ServiceMonitor" not in kinds
    kinds = {o["kind"] for o in render(helm, *values, *OPTIONAL_APIS)}
    assert {"HTTPRoute", "ServiceMonitor"} <= kinds


def test_ingress_applies_stream_timeouts_and_user_annotations_win(helm: Path) -> None:
    objects = render(helm, "-f", str(CHART / "ci" / "everything-values.yaml"), *OPTIONAL_APIS)
    ingress = one(objects, "Ingress")
    assert ingress["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/proxy-read-timeout": "7200",
        "nginx.ingress.kubernetes.io/proxy-send-timeout": "7200",
        "nginx.ingress.kubernetes.io/proxy-buffering": "on",
    }
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/tools"
    (route,) = of_kind(objects, "HTTPRoute")
    assert "timeouts" not in route["spec"]["rules"][0]  # timeouts: null for Gateway API < 1.1
    policy = one(objects, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"] and policy["spec"]["egress"] == []
    hpa = one(objects, "HorizontalPodAutoscaler")
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu", "memory"]
    assert one(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    spec = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert spec["containers"][0]["readinessProbe"]["exec"]["command"] == [
        "kubehelm-mcp-health",
        "http://127.0.0.1:8080/readyz",
    ]
    assert [c["name"] for c in spec["initContainers"]] == [
        "memory-install",
        "memory-warm",
        "notes-venv",
        "notes-install",
    ]
    config = gateway_config(objects)
    assert (
        config["servers"]["notes"]["tools"] == {"deny": ["delete_note"]}
        and config["servers"]["notes"]["required"] is False
    )
    assert config["supervision"] == {"ping_interval": 10} and config["default"] == "memory"
    assert config["servers"]["memory"]["args"] == [
        "--offline",
        "--package",
        "@modelcontextprotocol/server-memory@2026.8.31",
        "--",
        "mcp-server-memory",
    ]
    config_map = next(c for c in of_kind(objects, "ConfigMap"))
    assert config_map["data"]["notes.config"].startswith("[notes]")


def test_schema_refuses_typos_but_keeps_free_form_maps_open(helm: Path) -> None:
    refused = render_error(helm, "-f", str(CHART / "examples" / "node.yaml"), "--set", "server.nodee.package=x")
    assert "nodee" in refused
    objects = render(
        helm,
        "-f",
        str(CHART / "examples" / "gateway.yaml"),
        "--set",
        "servers[1].gateway.max_children=4",
        "--set",
        "podAnnotations.team=ai",
        "--set",
        "servers[1].env.ANY_NAME=1",
    )
    assert gateway_config(objects)["servers"]["time"]["max_children"] == 4


def _leaves(values: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        out += _leaves(value, f"{path}.") if isinstance(value, dict) and value else [path]
    return out


def test_the_readme_documents_every_value() -> None:
    readme = (CHART / "README.md").read_text()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    documented = set(re.findall(r"^\| `([^`]+)` \|", readme, flags=re.MULTILINE))
    missing = [
        leaf
        for leaf in _leaves(values)
        if not any(leaf == d or leaf.startswith(f"{d}.") for d in documented if d not in ("server",))
    ]
    assert not missing, f"values without a README row: {missing}"
