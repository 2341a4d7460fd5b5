"""Removing credentials from any text that leaves the server: errors, logs, results."""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"

_PATTERNS = (
    # Authorization headers and bearer tokens
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
    # JWT-shaped tokens anywhere
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), REDACTED),
    # passwords embedded in URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^/\s@]+@"), r"\1:" + REDACTED + "@"),
    # token=..., password: ..., client-key-data: ... in flag, env or YAML form
    (
        re.compile(
            r"(?i)\b((?:kube[_-]?)?token|password|passwd|secret|client[_-]key[_-]data|"
            r"client[_-]certificate[_-]data|api[_-]?key)(\"?[ \t]*[=:][ \t]*\"?)[^\s\",;]+"
        ),
        r"\1\2" + REDACTED,
    ),
    # PEM private keys
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
        REDACTED,
    ),
)


def remove_known(text: str, known_secrets: tuple[str, ...]) -> str:
    """Replace exact credentials the server was handed (e.g. a per-call token)."""
    for secret in known_secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def scrub(text: str, known_secrets: tuple[str, ...] = ()) -> str:
    """For error and log text: known credentials plus anything shaped like one.

    Not for results: a Pod's `secret:` volume or a ConfigMap key named `token` is data the
    caller asked for (Secret values are redacted structurally by the shaping step instead).
    """
    text = remove_known(text, known_secrets)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
