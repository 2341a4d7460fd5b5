"""The redaction rules as users read them in the README: Helm values keys and value shapes (on a
table of value names from popular charts), and Secret data followed inside its object."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kubehelm_mcp.pipeline.helm_values import Verdict, judge, key_words, redact_values
from kubehelm_mcp.pipeline.secrets import redact_secret, redact_write

R = "[REDACTED]"
VALUE = "s3cr3t-Value-42"

# (dotted path in the chart's values, redacted?) — names from bitnami postgresql/redis/mongodb/minio,
# grafana, sentry, argo-cd, gitlab-runner, keycloak, harbor, loki and common application charts.
CHART_VALUES = [
    ("auth.postgresPassword", True),
    ("auth.password", True),
    ("auth.replicationPassword", True),
    ("auth.username", False),
    ("auth.database", False),
    ("auth.existingSecret", False),
    ("auth.secretKeys.adminPasswordKey", False),
    ("auth.secretKeys.userPasswordKey", False),
    ("externalDatabase.existingSecretPasswordKey", False),
    ("externalDatabase.password", True),
    ("externalDatabase.user", False),
    ("externalDatabase.host", False),
    ("adminPassword", True),
    ("adminUser", False),
    ("admin.existingSecret", False),
    ("admin.passwordKey", False),
    ("admin.userKey", False),
    ("smtp.password", True),
    ("smtp.user", False),
    ("s3.secretAccessKey", True),
    ("s3.accessKey", True),
    ("s3.bucket", False),
    ("oauth.clientSecret", True),
    ("oauth.clientId", False),
    ("sentry.dsn", True),
    ("tls.crt", False),
    ("tls.key", True),
    ("tls.secretName", False),
    ("ca.crt", False),
    ("ca.key", True),
    ("db.pass", True),
    ("pwd", True),
    ("auth", True),
    ("apikey", True),
    ("apiKey", True),
    ("API_KEY", True),
    ("tls_key", True),
    ("privateKeyPem", True),
    ("publicKey", False),
    ("bearer", True),
    ("rootPassword", True),
    ("rootUser", False),
    ("secretKey", True),
    ("jwtSecret", True),
    ("cookieSecret", True),
    ("encryptionKey", True),
    ("licenseKey", True),
    ("runnerRegistrationToken", True),
    ("keystorePassphrase", True),
    ("htpasswd", True),
    ("connectionString", True),
    ("passwordLength", False),
    ("password.secretKeyRef.name", False),
    ("global.imagePullSecrets", False),
    ("image.tag", False),
    ("monkey", False),
    ("keyring", False),
    ("serviceAccount.name", False),
]


def _nested(path: str, value: Any) -> Any:
    tree: Any = value
    for part in reversed(path.split(".")):
        tree = {part: tree}
    return tree


def _leaf(tree: Any, path: str) -> Any:
    for part in path.split("."):
        tree = tree[part]
    return tree


@pytest.mark.parametrize(("path", "redacted"), CHART_VALUES, ids=[p for p, _ in CHART_VALUES])
def test_chart_value_names(path: str, redacted: bool) -> None:
    shown = _leaf(redact_values(_nested(path, VALUE)), path)
    assert shown == (R if redacted else VALUE), path


def test_key_words() -> None:
    assert key_words("privateKeyPEM") == ["private", "key", "pem"]
    assert key_words("APIKey") == ["api", "key"]
    assert key_words("db-pass_word.x") == ["db", "pass", "word", "x"]
    assert judge("existingSecretPasswordKey") is Verdict.REFERENCE
    assert judge("webhookUrl") is Verdict.SUSPICIOUS


def test_what_always_shows_and_what_nests() -> None:
    values = {
        "password": {"admin": "a", "users": ["b", {"c": 1}], "enabled": True, "empty": "", "none": None},
        "auth": {"enabled": True, "sentinel": False, "password": 123456},
        "secret": {"name": "my-secret", "create": True, "extra": {"x": "y"}},
        "credentials": {"nested": ["a", {"b": 1}]},
        "tokens": None,
    }
    assert redact_values(values) == {
        "password": {"admin": R, "users": [R, {"c": R}], "enabled": True, "empty": "", "none": None},
        "auth": {"enabled": True, "sentinel": False, "password": R},
        "secret": {"name": "my-secret", "create": True, "extra": {"x": R}},
        "credentials": {"nested": [R, {"b": R}]},
        "tokens": None,
    }


PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\n-----END RSA PRIVATE KEY-----"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtY3AtbGVhayJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("databaseUrl", "postgres://u:p4ss@h/db", f"postgres://u:{R}@h/db"),
        ("url", "https://h/x?access_token=abc123&page=2", f"https://h/x?access_token={R}&page=2"),
        ("config", PEM, R),
        ("header", f"Authorization: Bearer {VALUE}", f"Authorization: Bearer {R}"),
        ("anything", JWT, R),
        ("gh", "ghp_" + "a1B2" * 9, R),
        ("signingSeed", "Zk9x2LqP7vWm4TbR8sYc3NhJ", R),  # random-looking under a suspicious key
        ("signingSeed", "short", "short"),
        ("description", "Zk9x2LqP7vWm4TbR8sYc3NhJ", "Zk9x2LqP7vWm4TbR8sYc3NhJ"),  # not a suspicious key
        ("certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", None),
    ],
)
def test_value_shapes_whatever_the_key(key: str, value: str, shown: str | None) -> None:
    assert redact_values({key: value}) == {key: value if shown is None else shown}


def test_values_equal_to_a_secret_of_the_result_are_redacted() -> None:
    assert redact_values({"mode": "plain", "seed": "abc"}, frozenset({"abc"})) == {"mode": "plain", "seed": R}


def _secret(data: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in (data or {}).items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "default", **meta},
        "data": encoded,
    }


def test_secret_data_is_followed_into_labels_and_annotations() -> None:
    encoded = base64.b64encode(VALUE.encode()).decode()
    obj = _secret(
        {"password": VALUE, "namespace": "default"},
        annotations={"copied": encoded, "decoded": VALUE, "inside": f"x-{VALUE}-y", "other": "fine"},
        labels={"copy": encoded.rstrip("="), "app": "web"},
    )
    shown = redact_secret(obj)
    assert shown["data"] == {"password": R, "namespace": R}
    assert shown["metadata"]["annotations"] == {"copied": R, "decoded": R, "inside": f"x-{R}-y", "other": "fine"}
    assert shown["metadata"]["namespace"] == "default"  # identity is never taken for a copy
    assert shown["metadata"]["labels"]["app"] == "web"


def test_a_write_hides_what_it_put_on_a_secret() -> None:
    before = _secret({"password": VALUE}, labels={"app": "web"}, annotations={"keep": "same"})
    moved = _secret({}, labels={"app": "web", "new": "short"}, annotations={"keep": "same", "x": VALUE})
    shown = redact_write({"index": 0, "before": before, "after": moved})
    assert shown["after"]["metadata"]["annotations"] == {"keep": "same", "x": R}
    assert shown["after"]["metadata"]["labels"] == {"app": "web", "new": R}
    assert shown["before"]["data"] == {"password": R}
    plain = {"index": 0, "before": None, "after": {"kind": "ConfigMap", "metadata": {"labels": {"a": "b"}}}}
    assert redact_write(plain) is plain
