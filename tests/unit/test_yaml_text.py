"""The YAML text of documents rendered a moment ago is reused only for equal values of equal types."""

from __future__ import annotations

import yaml

from kubehelm_mcp import yamltext
from kubehelm_mcp.yamltext import dump_yaml_all


def test_a_repeated_render_is_the_same_text_and_a_changed_object_is_rendered_anew() -> None:
    data = {"k": "v"}
    obj = {"kind": "ConfigMap", "metadata": {"name": "a"}, "data": data}
    first = dump_yaml_all([obj])
    assert dump_yaml_all([obj]) == first
    data["k"] = "changed"  # the same dict, changed in place: a new key, a new text
    assert "k: changed" in dump_yaml_all([obj])


def test_values_that_print_alike_in_json_keep_their_own_yaml() -> None:
    texts = [dump_yaml_all([{"v": value}]) for value in (1, "1", 1.0, True, None, "true")]
    assert len(set(texts)) == len(texts)
    assert [yaml.safe_load(text)["v"] for text in texts] == [1, "1", 1.0, True, None, "true"]


def test_the_memo_is_bounded() -> None:
    for n in range(yamltext.MEMO_ENTRIES * 2):
        dump_yaml_all([{"n": n}])
    assert len(yamltext._memo) == yamltext.MEMO_ENTRIES
    big = {"data": "x" * (yamltext.MEMO_MAX_CHARS + 1)}
    dump_yaml_all([big])
    assert repr([big]) not in yamltext._memo
