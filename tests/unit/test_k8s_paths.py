"""Field paths: parsing, picking parts of an object and reading table cells."""

from __future__ import annotations

from typing import Any

import pytest

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.kube.paths import WILDCARD, column_text, lookup, parse_path, pick

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web", "app.kubernetes.io/name": "shop"}},
    "spec": {
        "containers": [
            {"name": "main", "image": "busybox:1", "ports": [{"containerPort": 80}]},
            {"name": "sidecar", "image": "envoy:2"},
        ]
    },
    "status": {"phase": "Running"},
}


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("metadata.name", ("metadata", "name")),
        (".metadata.name", ("metadata", "name")),
        ("{.status.phase}", ("status", "phase")),
        ("spec.containers[0].image", ("spec", "containers", 0, "image")),
        ("spec.containers[-1]", ("spec", "containers", -1)),
        ("spec.containers[*].name", ("spec", "containers", WILDCARD, "name")),
        ("metadata.labels['app.kubernetes.io/name']", ("metadata", "labels", "app.kubernetes.io/name")),
        ('metadata.labels["app"]', ("metadata", "labels", "app")),
    ],
)
def test_parse_path(text: str, segments: tuple[Any, ...]) -> None:
    assert parse_path(text) == segments


@pytest.mark.parametrize("text", ["", "a..b", "a.", "a[0]b", "a[x]", "a b", "a[0"])
def test_bad_paths_get_one_sentence(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_path(text)
    assert error.value.message.startswith(("Field path", "A field path is empty"))


def test_pick_keeps_only_the_paths_and_positions() -> None:
    paths = [parse_path(p) for p in ("metadata.name", "status.phase", "spec.containers[1].image", "nothing.here")]
    assert pick(POD, paths) == {
        "metadata": {"name": "web"},
        "status": {"phase": "Running"},
        "spec": {"containers": [None, {"image": "envoy:2"}]},
    }
    assert lookup(pick(POD, paths), parse_path("spec.containers[1].image")) == ["envoy:2"]


def test_pick_merges_overlapping_paths_and_copies() -> None:
    paths = [parse_path(p) for p in ("spec.containers[*].name", "spec.containers[0].image", "metadata.labels")]
    picked = pick(POD, paths)
    assert picked == {
        "spec": {"containers": [{"name": "main", "image": "busybox:1"}, {"name": "sidecar"}]},
        "metadata": {"labels": {"app": "web", "app.kubernetes.io/name": "shop"}},
    }
    picked["metadata"]["labels"]["app"] = "changed"
    assert POD["metadata"]["labels"]["app"] == "web"


def test_column_text() -> None:
    assert column_text(POD, parse_path("spec.containers[*].image")) == "busybox:1,envoy:2"
    assert column_text(POD, parse_path("spec.containers[-1].name")) == "sidecar"
    assert column_text(POD, parse_path("spec.containers[0].ports")) == '[{"containerPort":80}]'
    assert column_text(POD, parse_path("spec.containers[5].name")) == "<none>"
    assert column_text(POD, parse_path("status.phase.deeper")) == "<none>"
