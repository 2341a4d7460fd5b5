"""Property-based fuzzing of every tool through one in-memory MCP client against the real cluster.

Arguments are drawn from each tool's own input JSON schema: valid, boundary and hostile values
(huge strings, unicode, NUL bytes, traversal, shell metacharacters, leading dashes, YAML bombs,
deeply nested JSON, wrong types, unknown keys). Every call must end as a success or as a clean
tool error (no traceback, no internal error) within its timeout, and the server must still answer
afterwards. Examples are derandomized so CI runs the same calls every time.

Hermetic by construction: destructive tools are refused by policy, the mutating tools that take
dry_run always get it, local paths are confined to a tmp dir (--allowed-paths and the cwd), helm's
home is a tmp dir, and name resolution is limited to literal IPs and localhost.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from mcp import Client

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.toolsets import all_tools
from tests.support.mcp import TRACEBACK_MARKERS, call_error, call_ok, text_of

pytestmark = pytest.mark.anyio

EXAMPLES_PER_TOOL = 32  # 70 tools: > 2,000 calls
READ_ONLY_SHARE = 4  # every 4th call of a tool goes to a read-only server
QUERY_TIMEOUT = 10.0
MUTATE_TIMEOUT = 20.0
OMIT = object()

BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)

HOSTILE_STRINGS = [
    "",
    " ",
    "a" * 70_000,
    "ünïcödé-☃-名前-\u202e-\u200b",
    "a\x00b",
    "\ud800lone-surrogate",
    "http://127.0.0.1:\u0668\u0660/",
    "\x1b[31mred\r\nInjected: line",
    "../../../../etc/passwd",
    "../" * 40,
    "/etc/shadow",
    "/proc/self/environ",
    "~/.ssh/id_rsa",
    "~/.kube/config",
    "/dev/zero",
    "; rm -rf / #",
    "$(id)",
    "`id`",
    "| cat /etc/passwd",
    "--kubeconfig=/etc/shadow",
    "--post-renderer=/bin/sh",
    "-h",
    "%s%s%n{0.__class__}",
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:1/",
    "http://[::1]:1/",
    "http://10.1.2.3/",
    "oci://[fd00:ec2::254]/charts/x",
    "oci://127.0.0.1:1/charts/x",
    "file:///etc/shadow",
    "gopher://127.0.0.1:25/",
    BILLION_LAUGHS,
    "&a [*a]",
    "[" * 5000 + "]" * 5000,
    "app in (",
    "status.phase",
    "999999h",
]
PLAUSIBLE_STRINGS = ["default", "kube-system", "web", "nginx", "app=web", "metadata.name=web", "1s", "v1", "x/y"]


def deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


WRONG_TYPES = st.sampled_from([None, 0, -1, 10**30, 1.5, True, [], ["x"] * 3, {}, {"k": "v"}, deep(120)])


def text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE_STRINGS),
        st.sampled_from(PLAUSIBLE_STRINGS),
        st.text(max_size=40),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=70),
    )


def strategy_for(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values for one JSON-schema property: what it declares, its boundaries, and wrong types."""
    if "$ref" in schema:
        return strategy_for(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        return st.one_of([strategy_for(sub, defs) for sub in schema["anyOf"]])
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), st.sampled_from(["", "V4", "-x"]), WRONG_TYPES)
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "string":
        bounds = [n for n in (schema.get("minLength"), schema.get("maxLength")) if isinstance(n, int)]
        edges = st.sampled_from(["x" * n for n in bounds] + ["x" * (n + 1) for n in bounds] or [""])
        return st.one_of(text(), edges, WRONG_TYPES)
    if kind == "integer":
        low, high = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31)
        return st.one_of(st.integers(low, high), st.sampled_from([low - 1, high + 1, 0, -1, 2**63]), WRONG_TYPES)
    if kind == "number":
        return st.one_of(st.floats(allow_nan=True, allow_infinity=True), WRONG_TYPES)
    if kind == "boolean":
        return st.one_of(st.booleans(), st.sampled_from(["yes", 2]))
    if kind == "array":
        items = strategy_for(schema.get("items", {}), defs)
        return st.one_of(st.lists(items, max_size=4), st.lists(st.just("x"), min_size=200, max_size=200), WRONG_TYPES)
    if kind == "object":
        return st.one_of(
            st.dictionaries(text(), st.one_of(text(), st.integers()), max_size=4), st.just(deep(120)), WRONG_TYPES
        )
    if kind == "null":
        return st.none()
    return st.one_of(text(), WRONG_TYPES)


def plausible_for(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values a careful caller would send, so calls also get past validation into the handlers."""
    if "$ref" in schema:
        return plausible_for(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        return st.one_of([plausible_for(sub, defs) for sub in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        return st.integers(schema.get("minimum", 0), min(schema.get("maximum", 50), 50))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(st.sampled_from(PLAUSIBLE_STRINGS), max_size=2)
    if kind == "object":
        return st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(PLAUSIBLE_STRINGS), max_size=2)
    if kind == "null":
        return st.none()
    return st.sampled_from(PLAUSIBLE_STRINGS)


def arguments_for(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Half the calls fuzz every field; the other half are plausible with one hostile field."""
    defs = schema.get("$defs", {})
    properties = schema.get("properties", {})
    plausible = {name: plausible_for(prop, defs) for name, prop in properties.items()}
    one_hostile = st.sampled_from(sorted(properties) or ["unknown"]).flatmap(
        lambda bad: st.fixed_dictionaries({**plausible, bad: strategy_for(properties.get(bad, {}), defs)})
    )
    return st.one_of(fuzzed_arguments(schema), one_hostile)


def fuzzed_arguments(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    fields = {
        name: st.one_of(st.just(OMIT), strategy_for(prop, defs))
        if name not in required
        else strategy_for(prop, defs) | st.just(OMIT)
        for name, prop in schema.get("properties", {}).items()
    }
    extra = st.dictionaries(st.sampled_from(["--flag", "unknown", "x\x00"]), text(), max_size=1)
    return st.builds(
        lambda drawn, more: {**more, **{k: v for k, v in drawn.items() if v is not OMIT}},
        st.fixed_dictionaries(fields),
        st.one_of(st.just({}), extra),
    )


def examples(strategy: st.SearchStrategy[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """A fixed list of draws: hypothesis generates, derandomized, and the calls run afterwards (async)."""
    drawn: list[dict[str, Any]] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: dict[str, Any]) -> None:
        drawn.append(value)

    collect()
    return drawn[:count]


def hermetic(name: str, arguments: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """Mutating tools that can simulate always do: the fuzz never changes the shared cluster."""
    if "dry_run" in properties:
        arguments = {**arguments, "dry_run": "server" if "enum" in str(properties["dry_run"]) else True}
    return arguments


@pytest.fixture
def local_names_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No fuzzed hostname is ever looked up outside this machine."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
        except OSError:
            if name != "localhost":
                raise socket.gaierror(socket.EAI_NONAME, "fuzz: only literal IPs and localhost resolve") from None
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture
def fuzz_settings(
    server_settings: Settings,
    helm_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    local_names_only: None,
) -> Iterator[Settings]:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield server_settings.replace(
        allow_destructive=False,
        allowed_paths=(str(work),),
        helm_hub_url="http://127.0.0.1:1",
        query_timeout=QUERY_TIMEOUT,
        mutate_timeout=MUTATE_TIMEOUT,
    )


async def fuzz_call(client: Client, name: str, arguments: dict[str, Any], limit: float) -> str:
    with anyio.fail_after(limit):
        result = await client.call_tool(name, arguments)
    message = text_of(result)
    if result.is_error:
        assert not any(marker in message for marker in TRACEBACK_MARKERS), f"{name} {arguments!r:.300}: {message}"
        assert not message.startswith("Internal error"), f"{name} {arguments!r:.300}: {message}"
        return "error"
    return "ok"


async def test_every_tool_survives_schema_driven_fuzzing(fuzz_settings: Settings) -> None:
    outcomes = {"ok": 0, "error": 0}
    categories = {tool.name: tool.category for tool in all_tools()}
    async with (
        create_client(settings=fuzz_settings) as client,
        create_client(settings=fuzz_settings.replace(read_only=True)) as read_only,
    ):
        # read-only hides mutating tools from its list, so the full list comes from the default server
        tools = (await client.list_tools()).tools
        assert len(tools) >= 60
        for tool in tools:
            properties = tool.input_schema.get("properties", {})
            limit = fuzz_settings.resilience.timeout_for(categories[tool.name]) + 5  # the server's own limit, then ours
            for number, arguments in enumerate(examples(arguments_for(tool.input_schema), EXAMPLES_PER_TOOL)):
                target = read_only if number % READ_ONLY_SHARE == 0 else client
                arguments = hermetic(tool.name, arguments, properties)
                outcomes[await fuzz_call(target, tool.name, arguments, limit)] += 1
        for each in (client, read_only):
            assert (await call_ok(each, "k8s_get_current_context"))["name"]
    total = sum(outcomes.values())
    print(f"\nfuzz: {total} calls over {len(tools)} tools ({outcomes['ok']} ok, {outcomes['error']} clean errors)")
    assert total >= 2000


@pytest.mark.parametrize(
    ("tool", "arguments", "sentence"),
    [
        ("k8s_apply_resource", {"manifest": BILLION_LAUGHS}, "aliases expand to more than"),
        ("k8s_list_resources", {"kind": "pods", "namespace": "../kube-system"}, "not a valid namespace"),
        ("helm_repo_add", {"name": "meta", "url": "http://169.254.169.254/"}, "cloud metadata"),
        ("helm_pull", {"chart": "x", "repo": "http://127.0.0.1:1/"}, "loopback"),
        ("helm_lint", {"paths": ["/etc/shadow"]}, "never reads or writes"),
        ("helm_search_repo", {"keyword": "--help"}, "starts with '-'"),
        ("helm_status", {"release_name": "Web;id"}, "not a valid release name"),
    ],
)
async def test_hostile_inputs_are_refused_in_one_sentence(
    fuzz_settings: Settings, tool: str, arguments: dict[str, Any], sentence: str
) -> None:
    async with create_client(settings=fuzz_settings) as client:
        message = await call_error(client, tool, arguments)
    assert sentence in message and message.count("\n") == 0, message
