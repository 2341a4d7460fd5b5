"""Helm values in results (helm_get_values, helm_get_all): what looks like a credential is redacted.

Keys are split into lowercase words at camelCase, snake_case, kebab-case and dots (`privateKeyPEM`:
private, key, pem; `APIKey`: api, key; `db.pass`: pass); two neighbouring words also count joined
(`api`+`key` is `apikey`). The first rule that matches a key decides:

1. reference, shown (it names a secret, it holds none): a word `existing` (existingSecret,
   existingSecretPasswordKey); a last word of REFERENCE_LAST (secretName, secretKeyRef, passwordFile,
   passwordLength, clientId, adminUser); `key`/`keys` after a word of KEY_NAME_OWNERS (passwordKey,
   userKey: the key a Secret holds the password under); `pull secrets` (imagePullSecrets).
2. credential, redacted with everything under it: a word of CREDENTIAL_WORDS, or a word containing
   one of CREDENTIAL_STEMS (adminpassword, htpasswd, rootapikey).
3. credential value, its own value redacted (scalars, lists of scalars; nested keys are judged on
   their own): a word of VALUE_WORDS (auth, pass, dsn, bearer...), or `key`/`keys` as the last word
   (tls.key, apiKey, accessKey, encryptionKey).
4. suspicious: a word of SUSPICIOUS_WORDS; a random-looking string under it (20+ characters, no
   spaces, 3.5+ bits of entropy per character) is redacted.
A key none of these match takes the decision of its nearest enclosing key (of kind 1, 2 or 4).

Whatever the key, every string is scrubbed of credential shapes (pipeline/scrub.py): the password
of a URL (`postgres://u:[REDACTED]@h/db`), credentials in URL query strings, bearer and basic
credentials, JWT-shaped tokens, PEM private keys, well-known token prefixes (ghp_, glpat-, xoxb-,
sk_live_...) and `password=`-style pairs; and a string equal to a value of a Secret in the same
result (helm_get_all's manifest) is redacted. Booleans, nulls and empty strings always show.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from enum import Enum
from typing import Any

from kubehelm_mcp.pipeline.scrub import REDACTED, scrub

REFERENCE_LAST = frozenset(
    {
        "name", "names", "ref", "refs", "file", "files", "path", "paths", "dir", "length", "enabled", "enable",
        "type", "policy", "ttl", "expiry", "expiration", "header", "id", "ids", "user", "username", "email",
        "format", "mode", "annotations", "labels",
    }
)  # fmt: skip
KEY_NAME_OWNERS = frozenset({"password", "passwd", "pwd", "user", "username", "email", "public", "id", "name"})
REFERENCE_PAIRS = frozenset({"pullsecret", "pullsecrets"})
CREDENTIAL_WORDS = frozenset(
    {
        "password", "passwords", "passwd", "passphrase", "pwd", "secret", "secrets", "token", "tokens",
        "credential", "credentials", "creds", "apikey", "apikeys", "privatekey", "privatekeys",
    }
)  # fmt: skip
CREDENTIAL_STEMS = ("password", "passwd", "passphrase", "secret", "token", "credential", "apikey", "privatekey")
VALUE_WORDS = frozenset(
    {
        "auth", "pass", "dsn", "bearer", "jwt", "cookie", "salt", "pem", "sas", "kubeconfig", "keystore",
        "connectionstring",
    }
)  # fmt: skip
SUSPICIOUS_WORDS = frozenset(
    {
        "signature", "sig", "hmac", "hash", "seed", "nonce", "session", "license", "encryption", "cipher",
        "webhook", "access", "client", "master", "signing", "oauth", "otp", "totp",
    }
)  # fmt: skip
MIN_RANDOM_CHARS = 20
MIN_RANDOM_BITS = 3.5

_BOUNDARIES = (re.compile(r"([a-z0-9])([A-Z])"), re.compile(r"([A-Z]+)([A-Z][a-z])"))
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")


class Verdict(Enum):
    NONE = "none"
    REFERENCE = "reference"
    CREDENTIAL = "credential"
    VALUE = "value"
    SUSPICIOUS = "suspicious"


def key_words(key: str) -> list[str]:
    for boundary in _BOUNDARIES:
        key = boundary.sub(r"\1 \2", key)
    return [word.lower() for word in _SEPARATORS.split(key) if word]


def judge(key: str) -> Verdict:
    words = key_words(key)
    if not words:
        return Verdict.NONE
    pairs = [a + b for a, b in itertools.pairwise(words)]
    last = words[-1]
    owner = words[-2] if len(words) > 1 else ""
    if "existing" in words or last in REFERENCE_LAST or REFERENCE_PAIRS.intersection(pairs):
        return Verdict.REFERENCE
    if last in ("key", "keys") and owner in KEY_NAME_OWNERS:
        return Verdict.REFERENCE
    terms = [*words, *pairs]
    if CREDENTIAL_WORDS.intersection(terms) or any(stem in word for word in words for stem in CREDENTIAL_STEMS):
        return Verdict.CREDENTIAL
    if VALUE_WORDS.intersection(terms) or last in ("key", "keys"):
        return Verdict.VALUE
    if SUSPICIOUS_WORDS.intersection(words):
        return Verdict.SUSPICIOUS
    return Verdict.NONE


def looks_random(text: str) -> bool:
    if len(text) < MIN_RANDOM_CHARS or any(c.isspace() for c in text):
        return False
    counts = Counter(text)
    bits = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    return bits >= MIN_RANDOM_BITS


def _leaf(value: Any, verdict: Verdict, known: frozenset[str]) -> Any:
    if value is None or isinstance(value, bool) or value == "":
        return value
    if verdict in (Verdict.CREDENTIAL, Verdict.VALUE):
        return REDACTED
    if not isinstance(value, str):
        return value
    if value in known or (verdict is Verdict.SUSPICIOUS and looks_random(value)):
        return REDACTED
    return scrub(value)


def _entry(key: Any, value: Any, inherited: Verdict, known: frozenset[str]) -> Any:
    own = judge(str(key))
    applies = inherited if own is Verdict.NONE else own
    passed = own if own in (Verdict.REFERENCE, Verdict.CREDENTIAL, Verdict.SUSPICIOUS) else inherited
    if isinstance(value, dict):
        return {k: _entry(k, v, passed, known) for k, v in value.items()}
    if isinstance(value, list):
        return [_items(item, applies, passed, known) for item in value]
    return _leaf(value, applies, known)


def _items(item: Any, applies: Verdict, passed: Verdict, known: frozenset[str]) -> Any:
    if isinstance(item, dict):
        return {k: _entry(k, v, passed, known) for k, v in item.items()}
    if isinstance(item, list):
        return [_items(inner, applies, passed, known) for inner in item]
    return _leaf(item, applies, known)


def redact_values(values: Any, known: frozenset[str] = frozenset()) -> Any:
    """A copy of a values tree with the rule above applied; `known`: Secret values of the same result."""
    return _items(values, Verdict.NONE, Verdict.NONE, known)
