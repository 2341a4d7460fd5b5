"""No seeded credential leaves the server on any path. Known secret values sit in the cluster
(Secret data and stringData, a ServiceAccount token), in the kubeconfig (a user token, a client
key, the admin's real client key), in Helm values under password/token/key names, in a chart's
Secret template, and in repository and registry passwords. Then EVERY tool of the registry is
called with valid arguments (per-call credentials on wherever a tool reaches the cluster), and
every result (text and structured), every error and every log line the server writes (at debug
level, through the scrubbing filter cli.py installs) is searched for them: zero hits.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from testcluster.registry import TEST_PASSWORD, TEST_USER, OciRegistry

from kubehelm_mcp import create_server
from kubehelm_mcp.api import server_parts
from kubehelm_mcp.logfilter import ScrubFilter
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.tooling import touches_cluster
from kubehelm_mcp.toolsets import all_tools
from tests.support.cli import run
from tests.support.helm_servers import ChartRepo, HubServer, git_plugin

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.support.helm_fixtures"]  # helm_home, chart_repo

NS = "khm-leak"
RELEASE = "leaky"


def _seed(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:16]}"


SEEDS = {
    "secret data": _seed("secret-data"),
    "secret stringData": _seed("secret-stringdata"),
    "applied secret": _seed("applied-secret"),
    "patched secret": _seed("patched-secret"),
    "created secret": _seed("created-secret"),
    "kubeconfig token": _seed("kubeconfig-token"),
    "kubeconfig client key": _seed("kubeconfig-client-key"),
    "helm password value": _seed("helm-password"),
    "helm token value": _seed("helm-token"),
    "helm apiKey value": _seed("helm-apikey"),
    "helm --set token": _seed("helm-set-token"),
    "chart literal": _seed("chart-literal"),
    "repository password": _seed("repo-password"),
    "registry password": TEST_PASSWORD,
}

CHART_SECRET = """apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-creds
type: Opaque
stringData:
  password: {{ .Values.db.password | quote }}
  literal: "LITERAL"
data:
  token: {{ .Values.auth.token | b64enc | quote }}
  apiKey: {{ .Values.apiKey | b64enc | quote }}
""".replace("LITERAL", SEEDS["chart literal"])

CHART_HOOK = """apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-hook
  annotations: {"helm.sh/hook": post-install, "helm.sh/hook-delete-policy": before-hook-creation}
stringData:
  token: {{ .Values.auth.token | quote }}
"""

WORKLOAD = f"""apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: leak-admin, namespace: {NS}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: khm-leak-admin}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}
subjects: [{{kind: ServiceAccount, name: leak-admin, namespace: {NS}}}]
---
apiVersion: v1
kind: Secret
metadata: {{name: leak-secret, namespace: {NS}}}
data: {{password: {base64.b64encode(SEEDS["secret data"].encode()).decode()}}}
stringData: {{api-key: {SEEDS["secret stringData"]}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: leak-config, namespace: {NS}}}
data: {{greeting: hello}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: leak-web, namespace: {NS}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: leak-web}}}}
  template:
    metadata: {{labels: {{app: leak-web}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: httpd
        image: 127.0.0.1/kubehelm/busybox:1
        imagePullPolicy: Never
        command: [sh, -c, 'mkdir -p /www && echo ok > /www/index.html && echo started && exec httpd -f -p 8080 -h /www']
        ports: [{{name: http, containerPort: 8080}}]
        env: [{{name: API_KEY, valueFrom: {{secretKeyRef: {{name: leak-secret, key: api-key}}}}}}]
        volumeMounts: [{{name: creds, mountPath: /creds}}]
      volumes: [{{name: creds, secret: {{secretName: leak-secret}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: leak-web, namespace: {NS}}}
spec:
  selector: {{app: leak-web}}
  ports: [{{name: web, port: 80, targetPort: http}}]
"""


def secret_manifest(name: str, value: str, *, string_data: bool = True) -> str:
    body = (
        f"stringData: {{value: {value}}}"
        if string_data
        else f"data: {{value: {base64.b64encode(value.encode()).decode()}}}"
    )
    return f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {NS}}}\n{body}\n"


@dataclass
class World:
    """Everything the calls need, and the secret strings no output may contain."""

    kubeconfig: Path
    context: str
    apiserver: str
    sa_token: str
    chart: Path
    workdir: Path
    plugin: Path
    repo: ChartRepo
    registry: OciRegistry
    hub_url: str
    pod: str
    secrets: dict[str, str] = field(default_factory=dict)


def _leaky_kubeconfig(real: Path, target: Path) -> tuple[str, str, dict[str, str]]:
    """The real kubeconfig plus two contexts whose users carry seeded credentials."""
    config = json.loads(real.read_text())
    context = config["current-context"]
    cluster = config["contexts"][0]["context"]["cluster"]
    admin = config["users"][0]["user"]
    fake_key = (
        "-----BEGIN RSA PRIVATE KEY-----\n"
        + base64.b64encode(SEEDS["kubeconfig client key"].encode() * 3).decode()
        + "\n-----END RSA PRIVATE KEY-----\n"
    )
    config["users"] += [
        {"name": "leaky", "user": {"token": SEEDS["kubeconfig token"]}},
        {
            "name": "leaky-cert",
            "user": {
                "client-certificate-data": admin["client-certificate-data"],
                "client-key-data": base64.b64encode(fake_key.encode()).decode(),
            },
        },
    ]
    config["contexts"] += [
        {"name": name, "context": {"cluster": cluster, "user": name, "namespace": NS}}
        for name in ("leaky", "leaky-cert")
    ]
    target.write_text(json.dumps(config))
    real_key = admin["client-key-data"]
    pem_body = base64.b64decode(real_key).decode().splitlines()[1]  # a line of the real private key
    found = {"admin client-key-data": real_key, "admin client key (PEM)": pem_body}
    server = next(c["cluster"]["server"] for c in config["clusters"] if c["name"] == cluster)
    return context, server, found


def _chart(helm: Path, workdir: Path) -> Path:
    run(helm, "create", str(workdir / "leakchart"))
    chart = workdir / "leakchart"
    for template in (chart / "templates").rglob("*"):
        if template.is_file():
            template.unlink()
    (chart / "templates" / "secret.yaml").write_text(CHART_SECRET)
    (chart / "templates" / "hook.yaml").write_text(CHART_HOOK)
    (chart / "templates" / "config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}-config'}\ndata: {mode: plain}\n"
    )
    (chart / "templates" / "NOTES.txt").write_text("Installed {{ .Release.Name }}; its credentials are in a Secret.\n")
    (chart / "values.yaml").write_text("db: {password: ''}\nauth: {token: ''}\napiKey: ''\n")
    return chart


@pytest.fixture
def world(
    kube_node: Any,
    kubectl: Any,
    kubeconfig: Path,
    helm_binaries: dict[str, Path],
    helm_home: Path,
    chart_repo: ChartRepo,
    oci_registry_auth: OciRegistry,
    tmp_path: Path,
) -> Iterator[World]:
    kubectl("apply", "-f", "-", stdin=WORKLOAD)
    kubectl("rollout", "status", "deployment/leak-web", "-n", NS, "--timeout=120s")
    token_secret = kubectl("get", "serviceaccount", "leak-admin", "-n", NS, "-o", "jsonpath={.secrets[0].name}")
    encoded = kubectl("get", "secret", token_secret, "-n", NS, "-o", "jsonpath={.data.token}")
    sa_token = base64.b64decode(encoded).decode()
    pod = kubectl("get", "pods", "-n", NS, "-l", "app=leak-web", "-o", "name").split()[0].removeprefix("pod/")
    context, apiserver, admin_secrets = _leaky_kubeconfig(kubeconfig, tmp_path / "kubeconfig.json")
    listed = {"name": "leakapp", "repo": "acme", "repo_url": "https://charts.acme.test", "version": "1.0.0"}
    hub = HubServer([{**listed, "app_version": "1", "description": "d"}])
    try:
        yield World(
            kubeconfig=tmp_path / "kubeconfig.json",
            context=context,
            apiserver=apiserver,
            sa_token=sa_token,
            chart=_chart(helm_binaries["v4"], tmp_path),
            workdir=tmp_path,
            plugin=git_plugin(tmp_path / "hello-git"),
            repo=chart_repo,
            registry=oci_registry_auth,
            hub_url=hub.url,
            pod=pod,
            secrets={**SEEDS, **admin_secrets, "ServiceAccount token": sa_token},
        )
    finally:
        hub.close()
        kubectl("delete", "namespace", NS, "--wait=false")
        kubectl("delete", "clusterrolebinding", "khm-leak-admin")


Args = dict[str, Any]


@dataclass(frozen=True)
class Call:
    tool: str
    args: Args | Callable[[dict[str, Any]], Args]  # a callable gets earlier results by tool name
    own_identity: bool = False  # the kubeconfig's identity, not per-call credentials
    may_fail: bool = False  # cannot succeed here; its error is scanned like any output


def steps(w: World) -> list[Call]:
    """Every tool, in an order that gives each valid arguments; some tools are called twice."""
    ns = {"namespace": NS}
    rel = {"release_name": RELEASE, **ns}
    chart = str(w.chart)
    packages = w.workdir / "packages"
    packages.mkdir()
    pulled = w.workdir / "pulled"
    pulled.mkdir()
    values = {
        "db": {"password": SEEDS["helm password value"]},
        "auth": {"token": SEEDS["helm token value"]},
        "apiKey": SEEDS["helm apiKey value"],
    }
    return [
        Call("k8s_list_contexts", {}),
        Call("k8s_get_current_context", {}),
        Call("k8s_switch_context", {"name": "leaky"}),
        # the kubeconfig's seeded users: the cluster refuses the token; the client key is no key
        Call("k8s_list_resources", {"kind": "secrets", **ns}, own_identity=True, may_fail=True),
        Call("k8s_get_resource", {"kind": "secrets", "name": "x", "context": "leaky-cert", **ns}, True, True),
        Call("k8s_switch_context", {"name": w.context}),
        Call("k8s_get_resource", {"kind": "secrets", "name": "leak-secret", **ns, "output": "yaml"}),
        Call("k8s_get_resource", {"kind": "secrets", "name": "leak-secret", **ns, "output": "json"}),
        Call("k8s_list_resources", {"kind": "secrets", **ns}),
        Call("k8s_list_resources", {"kind": "secrets", **ns, "output": "json"}),
        Call("k8s_describe_resource", {"kind": "secrets", "name": "leak-secret", **ns}),
        Call("k8s_describe_resource", {"kind": "deployment", "name": "leak-web", **ns}),
        Call("k8s_diagnose", {"kind": "deployment", "name": "leak-web", **ns}),
        Call("k8s_diagnose", {"kind": "namespace", "name": NS, **ns}),
        Call("k8s_list_events", ns),
        Call("k8s_get_api_resources", {}),
        Call("k8s_apply_resource", {"manifest": secret_manifest("applied", SEEDS["applied secret"]), **ns}),
        Call(
            "k8s_create_resource",
            {"manifest": secret_manifest("created", SEEDS["created secret"], string_data=False), **ns},
        ),
        Call("k8s_diff_resource", {"manifest": secret_manifest("applied", SEEDS["patched secret"]), **ns}),
        Call(
            "k8s_patch_resource",
            {
                "kind": "secrets",
                "name": "applied",
                **ns,
                "patch_type": "merge",
                "patch": json.dumps({"stringData": {"value": SEEDS["patched secret"]}}),
            },
        ),
        Call("k8s_apply_resource", {"manifest": secret_manifest("applied", SEEDS["applied secret"]), **ns}),
        Call("k8s_scale_resource", {"kind": "deployment", "name": "leak-web", "replicas": 1, **ns}),
        Call("k8s_rollout", {"kind": "deployment", "name": "leak-web", "action": "status", **ns}),
        Call("k8s_rollout", {"kind": "deployment", "name": "leak-web", "action": "history", **ns}),
        Call("k8s_rollout_status", {"kind": "deployment", "name": "leak-web", "action": "history", **ns}),
        Call("k8s_get_pod_logs", {"name": w.pod, **ns}),
        Call("k8s_exec_pod", {"name": w.pod, "command": ["ls", "/creds"], **ns}),
        Call("k8s_port_forward_pod", {"name": w.pod, "port": 8080, **ns}),
        Call("k8s_port_forward_service", {"name": "leak-web", "port": 80, **ns}),
        Call("k8s_list_port_forwards", {}),
        Call("k8s_stop_port_forward", lambda r: {"id": r["k8s_port_forward_pod"]["forward"]["id"]}),
        Call("k8s_get_cluster_health", {}),
        Call("k8s_can_i", {"verb": "get", "resource": "secrets", **ns}),
        Call("k8s_top_pods", ns, may_fail=True),  # no metrics-server here
        Call("k8s_top_nodes", {}, may_fail=True),
        Call("k8s_delete_resource", {"kind": "secrets", "name": "created", **ns}),
        Call("helm_version", {}),
        Call("helm_env", {}),
        Call("helm_create", {"name": str(w.workdir / "scaffold")}),
        Call("helm_lint", {"paths": [chart], "values": values}),
        Call("helm_template", {"release_name": RELEASE, "chart": chart, "values": values, **ns}),
        Call("helm_show_all", {"chart": chart}),
        Call("helm_show_chart", {"chart": chart}),
        Call("helm_show_crds", {"chart": chart}),
        Call("helm_show_readme", {"chart": chart}),
        Call("helm_show_values", {"chart": chart}),
        Call("helm_dependency_list", {"chart_path": chart}),
        Call("helm_dependency_update", {"chart_path": chart}),
        Call("helm_dependency_build", {"chart_path": chart}),
        Call("helm_package", {"path": chart, "destination": str(packages)}),
        Call("helm_verify", {"chart_file": str(packages / "leakchart-0.1.0.tgz")}, may_fail=True),  # unsigned
        Call("helm_install", {**rel, "chart": chart, "values": values}),
        Call("helm_list", ns),
        Call("helm_status", rel),
        Call("k8s_diagnose", {"kind": "release", "name": RELEASE, **ns}),
        Call(
            "helm_upgrade",
            {**rel, "chart": chart, "reuse_values": True, "set": [f"auth.token={SEEDS['helm --set token']}"]},
        ),
        Call("helm_history", rel),
        Call("helm_get_values", rel),
        Call("helm_get_values", {**rel, "all": True, "revision": 2}),
        Call("helm_get_manifest", rel),
        Call("helm_get_hooks", rel),
        Call("helm_get_notes", rel),
        Call("helm_get_metadata", rel),
        Call("helm_get_all", rel),
        Call("helm_rollback", {**rel, "revision": 1}),
        Call("helm_test", rel),
        Call("k8s_get_resource", {"kind": "secrets", "name": f"{RELEASE}-creds", **ns, "output": "yaml"}),
        Call("helm_uninstall", rel),
        Call(
            "helm_repo_add",
            {"name": "leakrepo", "url": w.repo.url, "username": "u", "password": SEEDS["repository password"]},
        ),
        Call("helm_repo_list", {}),
        Call("helm_repo_update", {}),
        Call("helm_search_repo", {"keyword": "alpha"}),
        Call("helm_search_hub", {"keyword": "leakapp"}),
        Call("helm_repo_index", {"directory": str(packages), "url": w.repo.url}),
        Call("helm_pull", {"chart": "leakrepo/alpha", "destination": str(pulled)}),
        Call(
            "helm_registry_login",
            {"hostname": w.registry.host, "username": TEST_USER, "password": TEST_PASSWORD, "plain_http": True},
        ),
        Call(
            "helm_push",
            {
                "chart_ref": str(packages / "leakchart-0.1.0.tgz"),
                "remote": f"{w.registry.url}/leak",
                "plain_http": True,
            },
        ),
        Call("helm_registry_logout", {"hostname": w.registry.host}),
        Call("helm_plugin_install", {"url_or_path": f"file://{w.plugin}", "verify": False}),
        Call("helm_plugin_list", {}),
        Call("helm_plugin_update", {"name": "hello"}),
        Call("helm_plugin_uninstall", {"name": "hello"}),
        Call("helm_repo_remove", {"names": ["leakrepo"]}),
    ]


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def server_log() -> Iterator[Lines]:
    """Every record any logger of the process writes, at debug level, filtered as cli.py filters."""
    root = logging.getLogger()
    handler = Lines()
    handler.addFilter(ScrubFilter())
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def forms(secret: str) -> set[str]:
    """How a value may show up: as is, and base64-encoded (as Secret data holds it)."""
    return {secret, base64.b64encode(secret.encode()).decode().rstrip("=")}


def hits(text: str, secrets: dict[str, str]) -> list[str]:
    return [label for label, secret in secrets.items() if any(form in text for form in forms(secret))]


async def test_no_tool_leaks_a_seeded_secret(world: World, server_settings: Settings, server_log: Lines) -> None:
    settings = server_settings.replace(
        kubeconfig=str(world.kubeconfig),
        per_call_credentials=True,
        allow_destructive=True,
        allowed_hosts=("127.0.0.1",),
        allowed_plugin_sources=("file://*",),
        helm_hub_url=world.hub_url,
    )
    # capi_* need a Cluster API management cluster: tests/test_capi_federation.py checks their answers for credentials
    tools = {tool.name: tool for tool in all_tools() if not tool.cluster_provider}
    credentials = {"kube_apiserver": world.apiserver, "kube_token": world.sa_token, "kube_insecure_tls": True}
    results: dict[str, Any] = {}
    called: set[str] = set()
    failures: list[str] = []
    leaks: list[str] = []
    server = create_server(settings)
    # a handshake-era session: k8s_switch_context needs one to switch
    async with Client(server, mode="legacy") as client:
        for call in steps(world):
            args = call.args(results) if callable(call.args) else dict(call.args)
            if touches_cluster(tools[call.tool]) and not call.own_identity:
                args = {**args, **credentials}
            result = await client.call_tool(call.tool, args)
            called.add(call.tool)
            dumped = result.model_dump_json()
            leaks += [f"{call.tool}: {label}" for label in hits(dumped, world.secrets)]
            if result.is_error != call.may_fail:
                failures.append(f"{call.tool}({json.dumps(args)[:200]}): {dumped[:400]}")
            if not result.is_error and result.structured_content is not None:
                results[call.tool] = result.structured_content
    await server_parts(server).close()
    assert called == set(tools), f"tools never called: {sorted(set(tools) - called)}"
    assert failures == [], "\n".join(failures)
    assert leaks == [], leaks
    log_hits = [f"{label}: {line[:300]}" for line in server_log.lines for label in hits(line, world.secrets)]
    assert log_hits == [], "\n".join(log_hits)
    loggers = {line.split(" ", 2)[1].rstrip(":") for line in server_log.lines}  # debug logging really was captured
    assert {"kubernetes_asyncio.config.kube_config", "mcp.server.lowlevel.server"} <= loggers, loggers
