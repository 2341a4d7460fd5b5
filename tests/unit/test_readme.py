"""The docs cannot drift from the code: the tool and settings references and the tools/list
snapshot are generated, and the committed copies must match what the code generates now. The
README stays short and points at them instead of keeping tables by hand."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest

from kubehelm_mcp import docs

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
REGENERATE = f"Run `{docs.COMMAND}` (or scripts/gen-docs) and commit the result."


def _diff(path: Path, expected: str) -> str:
    committed = (ROOT / path).read_text(encoding="utf-8") if (ROOT / path).exists() else ""
    lines = difflib.unified_diff(
        committed.splitlines(), expected.splitlines(), f"{path} (committed)", f"{path} (from the code)", lineterm=""
    )
    return "\n".join(list(lines)[:40])


@pytest.mark.parametrize("path", [docs.TOOLS_MD, docs.SETTINGS_MD], ids=str)
def test_generated_reference_is_current(path: Path) -> None:
    expected = docs.generated()[path]()
    assert (ROOT / path).exists() and (ROOT / path).read_text(encoding="utf-8") == expected, (
        f"{path} differs from the code. {REGENERATE}\n{_diff(path, expected)}"
    )


def test_tools_list_matches_the_golden_snapshot() -> None:
    """tools/list through a real in-memory MCP client: names, annotations, schemas, descriptions."""
    expected = docs.tools_list_json()
    path = docs.GOLDEN
    committed = (ROOT / path).read_text(encoding="utf-8") if (ROOT / path).exists() else "{}"
    if committed == expected:
        return
    before = {t["name"]: t for t in json.loads(committed).get("tools", [])}
    after = {t["name"]: t for t in json.loads(expected)["tools"]}
    summary = [
        f"added: {sorted(after.keys() - before.keys())}",
        f"removed: {sorted(before.keys() - after.keys())}",
        f"changed: {sorted(n for n in before.keys() & after.keys() if before[n] != after[n])}",
    ]
    pytest.fail(f"tools/list differs from {path}. {REGENERATE}\n" + "\n".join(summary) + "\n" + _diff(path, expected))


def test_readme_keeps_the_two_commands() -> None:
    assert "scripts/serve" in README
    assert "scripts/test" in README


def test_readme_links_resolve() -> None:
    links = re.findall(r"\]\(((?:docs/)[^)#]+)(?:#[^)]*)?\)", README)
    assert links, "README should link to the reference in docs/"
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_readme_keeps_no_hand_made_reference_tables() -> None:
    """Tool and setting tables live in the generated docs only, so nothing can drift."""
    flags = re.findall(r"^\| `--[a-z-]+` \| `KUBEHELM_MCP_", README, flags=re.MULTILINE)
    assert not flags, "README repeats the settings table: link docs/settings.md instead"
    tools = re.findall(r"^\| `(?:k8s|helm)_[a-z_]+` \|", README, flags=re.MULTILINE)
    assert not tools, "README repeats the tools table: link docs/tools.md instead"
