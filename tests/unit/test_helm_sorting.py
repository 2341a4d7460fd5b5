"""helm/sorting.py: `helm template`'s text from one render of every template, sorted as Helm sorts
it, and None (Helm's own install decides) wherever the document heads or the split are not plain."""

from __future__ import annotations

import pytest
import yaml

from kubehelm_mcp.helm.manifests import load_documents, manifest_loader
from kubehelm_mcp.helm.sorting import plain_documents, sorted_manifest


def _doc(kind: str, name: str, hook: str | None = None) -> str:
    annotations = f"\n  annotations:\n    helm.sh/hook: {hook}" if hook else ""
    return f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}{annotations}\n"


def test_documents_are_sorted_by_kind_then_path_and_hooks_follow() -> None:
    rendered = {
        "c/templates/b.yaml": _doc("Deployment", "web") + "---\n" + _doc("Widget", "w"),
        "c/templates/a.yaml": _doc("Service", "svc") + "---\n" + _doc("ConfigMap", "cfg"),
        "c/templates/_helpers.tpl": "ignored",
        "c/templates/NOTES.txt": "thanks",
        "c/templates/empty.yaml": "  \n",
        "c/templates/hooks.yaml": _doc("Job", "migrate", "pre-install") + "---\n" + _doc("Pod", "t", "test"),
        "c/templates/odd.yaml": _doc("Secret", "s", "no-such-event"),  # an unknown hook: Helm drops it
    }
    text = sorted_manifest(rendered, no_hooks=False, skip_tests=False)
    assert text is not None
    sources = [line.removeprefix("# Source: ") for line in text.splitlines() if line.startswith("# Source:")]
    kinds = [line.removeprefix("kind: ") for line in text.splitlines() if line.startswith("kind:")]
    assert kinds == ["ConfigMap", "Service", "Deployment", "Widget", "Pod", "Job"]
    assert sources == [*(f"c/templates/{f}.yaml" for f in "aabb"), "c/templates/hooks.yaml", "c/templates/hooks.yaml"]
    assert text.startswith("---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\n")
    no_hooks = sorted_manifest(rendered, no_hooks=True, skip_tests=False)
    assert no_hooks is not None and "migrate" not in no_hooks and "kind: Pod" not in no_hooks
    no_tests = sorted_manifest(rendered, no_hooks=False, skip_tests=True)
    assert no_tests is not None and "migrate" in no_tests and "kind: Pod" not in no_tests


@pytest.mark.parametrize(
    "content",
    [
        "kind: ConfigMap\ndata:\n  s: |\n    one\n    ---\n    two\n",  # a block scalar holding a separator
        "---\nkind: ConfigMap\n",  # a leading separator
        "kind: ConfigMap\n--- \nkind: Secret\n",  # a separator with more on its line
        "kind: ConfigMap\n---\n\n---\nkind: Secret\n",  # an empty document
        "kind: ConfigMap\n...\n",  # a document end marker
    ],
)
def test_a_split_that_is_not_plain_is_left_to_helm(content: str) -> None:
    assert plain_documents(content) is None
    assert sorted_manifest({"c/templates/x.yaml": content}, no_hooks=False, skip_tests=False) is None


@pytest.mark.parametrize(
    "doc",
    [
        "- a\n- b\n",  # not a mapping
        "kind: [ConfigMap]\n",  # a kind that is not text
        "kind: ConfigMap\nmetadata: web\n",  # metadata that is not a mapping
        "base: &b {kind: ConfigMap}\n<<: *b\n",  # a merge key
        "kind: ConfigMap\nmetadata: {name: a\n",  # not YAML
        "kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: [pre-install]\n",  # a hook list, not text
    ],
)
def test_a_head_not_read_as_helm_reads_it_is_left_to_helm(doc: str) -> None:
    assert sorted_manifest({"c/templates/x.yaml": doc}, no_hooks=False, skip_tests=False) is None


def test_plain_documents_keep_the_text_helm_keeps() -> None:
    assert plain_documents("\n\n  \n# c\nkind: A\n---\n\nkind: B   \n\n") == ["# c\nkind: A", "kind: B   \n\n"]


@pytest.mark.parametrize(
    "chunk",
    [
        "apiVersion: v1\nkind: ConfigMap\ndata: {a: '1', b: 2, c: 2.5, d: yes, e: ~, f: Off, g: 0x1F, h: 1_000}\n",
        "list: [1, [2, [3, {x: y}]], null, '', \"q\\tq\"]\n1: int key\n2.5: float key\ntrue: bool key\n~: null key\n",
        "when: 2024-01-02\nblob: !!binary aGk=\nset: !!set {a, b}\nomap: !!omap [{a: 1}, {b: 2}]\n",
        "base: {a: 1}\nmerged: {<<: {a: 1, b: 2}, b: 3}\n=: value key\n",
        "a: 1\n---\nb: 2\n---\n# only a comment\n",
        "",
        "- top\n- level\n- list\n",
        "big: 123456789012345678901234567890\n",
    ],
)
def test_manifest_documents_are_built_as_the_loader_builds_them(chunk: str) -> None:
    try:
        expected: object = list(yaml.load_all(chunk, Loader=manifest_loader(chunk)))
    except yaml.YAMLError as exc:
        expected = type(exc)
    try:
        found: object = load_documents(chunk)
    except yaml.YAMLError as exc:
        found = type(exc)
    assert found == expected
