"""YAML text for people and models: block style, keys in their order, lines up to 120 columns.

libyaml's C emitter when PyYAML has it (about ten times faster than the pure-Python one on
large objects), the pure-Python emitter otherwise; both write the same text. PyYAML's representer
stays pure Python either way (about 40 µs per kilobyte of object), so the text of documents rendered
a moment ago (an object read again) is kept, keyed by their repr: the same values of the same types
in the same order are the same text.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import yaml

MEMO_ENTRIES = 32
MEMO_MAX_CHARS = 64 * 1024  # larger documents are rendered each time: their key would cost memory
_memo: OrderedDict[str, str] = OrderedDict()

_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_yaml(data: Any, *, width: int = 120) -> str:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=width, allow_unicode=True)
    return text.removesuffix("...\n").strip()


def dump_yaml_all(documents: Iterable[Any]) -> str:
    documents = list(documents)
    key = repr(documents)  # builtins only (the safe dumper takes nothing else): repr tells 1, "1", 1.0 and True apart
    if len(key) > MEMO_MAX_CHARS:
        return _dump_all(documents)
    text = _memo.get(key)
    if text is None:
        text = _memo[key] = _dump_all(documents)
        if len(_memo) > MEMO_ENTRIES:
            _memo.popitem(last=False)
    else:
        _memo.move_to_end(key)
    return text


def _dump_all(documents: list[Any]) -> str:
    text = yaml.dump_all(
        documents, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120, allow_unicode=True
    )
    return text.strip()
