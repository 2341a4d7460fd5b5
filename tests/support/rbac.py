"""A ServiceAccount that may only read some resources in one namespace, as manifest text."""

from __future__ import annotations


def reader_account(namespace: str, name: str, resources: list[str]) -> str:
    ref = f"{{name: {name}, namespace: {namespace}}}"
    return f"""apiVersion: v1
kind: ServiceAccount
metadata: {ref}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {ref}
rules: [{{apiGroups: [""], resources: [{", ".join(resources)}], verbs: [get, list]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {ref}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {name}}}
subjects: [{{kind: ServiceAccount, name: {name}, namespace: {namespace}}}]
"""


def bound_role(
    namespace: str, name: str, rules: str, *, users: tuple[str, ...] = (), groups: tuple[str, ...] = ()
) -> str:
    """A Role (rules as flow YAML) bound to users and groups: identities that exist only in tokens."""
    subjects = [f"{{kind: User, name: '{u}', apiGroup: rbac.authorization.k8s.io}}" for u in users]
    subjects += [f"{{kind: Group, name: '{g}', apiGroup: rbac.authorization.k8s.io}}" for g in groups]
    ref = f"{{name: {name}, namespace: {namespace}}}"
    return f"""apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {ref}
rules: {rules}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {ref}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {name}}}
subjects: [{", ".join(subjects)}]
"""
