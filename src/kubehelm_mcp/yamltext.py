"""YAML text for people and models: block style, keys in their order, lines up to 120 columns.

libyaml's C emitter when PyYAML has it (about ten times faster than the pure-Python one on
large objects), the pure-Python emitter otherwise; both write the same text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_yaml(data: Any, *, width: int = 120) -> str:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=width, allow_unicode=True)
    return text.removesuffix("...\n").strip()


def dump_yaml_all(documents: Iterable[Any]) -> str:
    text = yaml.dump_all(
        documents, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120, allow_unicode=True
    )
    return text.strip()
