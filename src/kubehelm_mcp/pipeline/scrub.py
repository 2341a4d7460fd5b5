"""Removing credentials from any text that leaves the server: errors, logs, results."""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"

# URL query parameters that carry credentials: these names, and any name containing one of the
# words after them (access_token, api_token, id_token, X-Amz-Signature, client_secret, apikey, ...).
CREDENTIAL_PARAMS = ("sig", "code", "jwt", "assertion", "pass", "pwd", "auth")
CREDENTIAL_PARAM_WORDS = ("token", "secret", "key", "password", "passwd", "signature", "credential", "session")

_PARAM_NAME = r"(?:" + "|".join(CREDENTIAL_PARAMS) + r"|[\w.~-]*(?:" + "|".join(CREDENTIAL_PARAM_WORDS) + r")[\w.~-]*)"
QUERY_CREDENTIAL = re.compile(r"(?i)([?&;]" + _PARAM_NAME + r"=)[^&;#\s\"'<>]+")

# Tokens whose issuer gives them a recognisable prefix (GitHub, GitLab, Slack, Stripe, OpenAI-style).
_PREFIXED_TOKEN = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|"
    r"xox[abposr]-[A-Za-z0-9-]{10,}|[rs]k_live_[A-Za-z0-9]{16,}|sk-[A-Za-z0-9_-]{20,})"
)

_PATTERNS = (
    # Authorization headers and bearer tokens
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
    # JWT-shaped tokens anywhere
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), REDACTED),
    # passwords embedded in URLs: scheme://user:password@host
    # (every repetition bounded: an unbounded scheme made this quadratic on long dotted text)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,31}://[^/\s:@]{1,256}):[^/\s@]{1,512}@"), r"\1:" + REDACTED + "@"),
    # credentials in URL query strings: ?access_token=..., &X-Amz-Signature=..., &code=...
    (QUERY_CREDENTIAL, r"\1" + REDACTED),
    # token=..., password: ..., client-key-data: ... in flag, env or YAML form
    (
        re.compile(
            r"(?i)\b((?:kube[_-]?)?token|password|passwd|secret|client[_-]key[_-]data|"
            r"client[_-]certificate[_-]data|api[_-]?key)(\"?[ \t]*[=:][ \t]*\"?)(?!\[REDACTED\])[^\s\",;]+"
        ),
        r"\1\2" + REDACTED,
    ),
    # PEM private keys
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
        REDACTED,
    ),
    (_PREFIXED_TOKEN, REDACTED),
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


# Scrubbed beyond a cut too, so the cut never leaves a piece of a credential that no longer looks like one.
_CUT_MARGIN = 1000


def scrub_bounded(text: str, limit: int, known_secrets: tuple[str, ...] = ()) -> str:
    """scrub() for text that may be huge: at most `limit` characters come out, and only that much
    (plus a margin) is scrubbed."""
    if len(text) <= limit:
        return scrub(text, known_secrets)
    return f"{scrub(text[: limit + _CUT_MARGIN], known_secrets)[:limit]}... ({len(text) - limit} more characters)"


def shorten(text: str, limit: int = 100) -> str:
    """Input repeated in an error or a log line, cut to `limit` characters, with what was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"
