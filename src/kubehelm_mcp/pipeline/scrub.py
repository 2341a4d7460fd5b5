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
            r"client[_-]certificate[_-]data|api[_-]?key)(\"?\s*[=:]\s*\"?)[^\s\",;]+"
        ),
        r"\1\2" + REDACTED,
    ),
    # PEM private keys
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
        REDACTED,
    ),
)


def scrub(text: str, known_secrets: tuple[str, ...] = ()) -> str:
    for secret in known_secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
