"""The local files tools may read and write, in one place.

A path is refused when it resolves (symlinks followed) into a sensitive system place, into one of
the server's own credential files, or outside --allowed-paths when that is set. The server's own
files are worked out once at start from the settings and the kubeconfig it loads (the kubeconfig,
the key, certificate and token files it names, --tls-cert/--tls-key, the audit log, helm's
repository and registry configuration, the pod's service-account tree) and are matched by resolved
path AND by file identity (st_dev, st_ino), so neither a symlink nor a hard link gets around them.

A file whose content a tool reads (values files, set_file files, a per-call kubeconfig) is read
here, once, from the very descriptor that passed the checks, and only up to --max-file-bytes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.helm.homes import helm_credential_paths
from kubehelm_mcp.kube.kubeconfig import kubeconfig_paths, load_kubeconfig_file, private_directory
from kubehelm_mcp.settings import Settings

SENSITIVE_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-")
SENSITIVE_TREES = ("/proc", "/sys", "/dev")
SECRET_DIRS = (".ssh", ".aws")
SERVICE_ACCOUNT_TREES = ("/var/run/secrets", "/run/secrets")
# Keys of a kubeconfig user that name a file holding its credentials.
USER_FILE_KEYS = ("client-certificate", "client-key", "tokenFile")
_MAX_TREE_ENTRIES = 10_000  # files of a protected tree whose identity is recorded

FileId = tuple[int, int]
FileReader = Callable[[str, str], bytes]  # (path, what it is) -> its bytes, or a refusal


def _within(path: str, root: str) -> bool:
    """`under` on normalised path text: string tests, not Path objects (this runs on every path a
    call names, several times each)."""
    return path == root or path.startswith(root if root.endswith("/") else root + "/")


def under(path: Path, root: Path) -> bool:
    return _within(str(path), str(root))


def _resolved(path: Path) -> Path | None:
    try:
        return path.expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def _identity(path: Path) -> FileId | None:
    try:
        found = path.stat()
    except (OSError, ValueError):
        return None
    return found.st_dev, found.st_ino


def _tree_files(root: Path) -> Iterator[Path]:
    count = 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            count += 1
            if count > _MAX_TREE_ENTRIES:
                return
            yield Path(directory, name)


@dataclass(frozen=True)
class ServerFiles:
    """The server's own credential files: resolved paths, whole trees, and file identities."""

    paths: frozenset[Path] = frozenset()
    trees: tuple[Path, ...] = ()
    ids: frozenset[FileId] = frozenset()

    def holds(self, resolved: Path, found: os.stat_result | None) -> bool:
        text = str(resolved)
        if resolved in self.paths or any(_within(text, str(tree)) for tree in self.trees):
            return True
        return found is not None and (found.st_dev, found.st_ino) in self.ids

    @classmethod
    def of(cls, files: Iterable[Path], trees: Iterable[Path]) -> ServerFiles:
        file_list = [p for p in files if str(p)]
        tree_list = [p for p in trees if str(p)]
        tree_paths = [r for p in tree_list for r in (p.expanduser(), _resolved(p)) if r is not None]
        members = [f for tree in tree_paths if tree.is_dir() for f in _tree_files(tree)]
        every = [*file_list, *members]
        paths = {r for p in file_list for r in (p.expanduser(), _resolved(p)) if r is not None}
        ids = {i for p in [*every, *tree_paths] if (i := _identity(p)) is not None}
        return cls(frozenset(paths), tuple(dict.fromkeys(tree_paths)), frozenset(ids))


def _user_files(path: str, config: Mapping[str, Any]) -> Iterator[Path]:
    """The credential files a kubeconfig's users name (relative ones are relative to the file)."""
    for entry in config.get("users") or []:
        user = entry.get("user") if isinstance(entry, dict) else None
        if not isinstance(user, dict):
            continue
        for key in USER_FILE_KEYS:
            value = user.get(key)
            if isinstance(value, str) and value:
                yield Path(path).parent / Path(value).expanduser()


def _kubeconfig_files(settings: Settings) -> Iterator[Path]:
    if settings.kube.in_cluster and not settings.kube.kubeconfig:
        return
    for path in kubeconfig_paths(settings.kube.kubeconfig):
        yield Path(path)
        try:
            yield from _user_files(path, load_kubeconfig_file(path))
        except InvalidInput:  # missing or malformed: the server itself will say so when it connects
            continue


def server_files(settings: Settings, environ: Mapping[str, str] | None = None) -> ServerFiles:
    """The credential files this server uses, worked out from its settings and kubeconfig (at start)."""
    environ = os.environ if environ is None else environ
    named = [
        settings.http.tls_cert,
        settings.http.tls_key,
        settings.telemetry.audit_log if settings.telemetry.audit_log != "-" else None,
    ]
    helm = helm_credential_paths(environ)
    files = [*_kubeconfig_files(settings), *(Path(p) for p in named if p), *helm[1:]]
    return ServerFiles.of(files, [helm[0], *(Path(t) for t in SERVICE_ACCOUNT_TREES)])


def refusal(
    resolved: Path, settings: Settings, files: ServerFiles, found: os.stat_result | None, *, kubeconfig: bool = False
) -> str | None:
    """Why no tool may read or write `resolved` (the end of a sentence about the path), or None."""
    secret_dirs = SECRET_DIRS if kubeconfig else (*SECRET_DIRS, ".kube")
    text = str(resolved)
    if (
        text in SENSITIVE_FILES
        or any(_within(text, tree) for tree in SENSITIVE_TREES)
        or any(part in secret_dirs for part in text.split("/"))
    ):
        return f"leads to {resolved}, a place the server never reads or writes"
    private = private_directory()  # kubeconfigs built from Secrets and callers' files (kube/kubeconfig.py)
    if files.holds(resolved, found) or (private is not None and under(resolved, private)):
        return f"leads to {resolved}, one of the server's own credential files, which no tool reads or writes"
    roots = [r for root in settings.files.allowed_paths if (r := _resolved(Path(root))) is not None]
    if roots and not any(_within(text, str(root)) for root in roots):
        return "is outside the server's --allowed-paths"
    return None


def stat_of(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except (OSError, ValueError):
        return None


def recheck_paths(paths: Iterable[str], settings: Settings, files: ServerFiles) -> None:
    """Right before a tool runs: each checked path (resolved, so free of symlinks then) still resolves
    to itself and is still allowed. A symlink that appeared on the way since validation (a directory
    swapped for a link out of --allowed-paths) refuses the call before helm follows it."""
    for value in paths:
        path = Path(value)
        if _resolved(path) != path:
            raise InvalidInput(f"Path {value} changed while the call was being checked (a symlink appeared on it).")
        # the same string passed validation's place rules (a per-call kubeconfig may sit in ~/.kube);
        # what can have changed is the file behind it: a hard link to a server file, say
        reason = refusal(path, settings, files, stat_of(path), kubeconfig=True)
        if reason:
            raise InvalidInput(f"Path {value} {reason}.")


MAX_CHART_ENTRIES = 20_000  # files and directories of a local chart directory that are looked at


def chart_tree_refusal(root: Path, settings: Settings, files: ServerFiles) -> str | None:
    """Helm follows symlinks inside a chart directory (`.Files.Get`, templates, values.yaml): a
    chart holding a link to a place no tool may read would render that file into the answer. Why
    the tree is refused (the end of a sentence about it), or None; a file or archive is not a tree.

    Every entry is looked at on every call (a tree can change between two calls); the walk reads
    each directory once and tells links apart by the directory entry's type, without a stat per file."""
    if not root.is_dir():
        return None
    seen = 0
    pending = [str(root)]
    while pending:  # links are not followed: each is judged here instead
        directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError:  # unreadable: helm cannot read it either (os.walk skipped it the same way)
            continue
        for entry in entries:
            seen += 1
            if seen > MAX_CHART_ENTRIES:
                return f"holds more than {MAX_CHART_ENTRIES} files, more than a chart directory the server reads"
            if entry.is_symlink():
                reason = _link_refusal(Path(entry.path), settings, files)
                if reason:
                    return f"holds the symlink {Path(entry.path).relative_to(root)}, which {reason}"
            elif entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
    return None


def _link_refusal(entry: Path, settings: Settings, files: ServerFiles) -> str | None:
    target = _resolved(entry)
    return "cannot be resolved" if target is None else refusal(target, settings, files, stat_of(target))


def _opened_path(descriptor: int, path: str) -> Path:
    """Where the opened file really is (Linux names it in /proc), else the path resolved now."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{descriptor}"))
    except OSError:
        return Path(path).resolve()


def read_local_file(path: str, what: str, settings: Settings, files: ServerFiles) -> bytes:
    """The bytes of a caller's local file, read from the descriptor that passed every check: the
    checks and the read see the same file whatever is renamed or re-linked meanwhile."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InvalidInput(f"{what} '{path}' does not exist.") from None
    except (OSError, ValueError):
        raise InvalidInput(f"{what} '{path}' cannot be opened.") from None
    with os.fdopen(descriptor, "rb") as stream:
        found = os.fstat(descriptor)
        if not stat.S_ISREG(found.st_mode):
            raise InvalidInput(f"{what} '{path}' is not a regular file.")
        reason = refusal(_opened_path(descriptor, path), settings, files, found)
        if reason:
            raise InvalidInput(f"{what} '{path}' {reason}.")
        limit = settings.files.max_file_bytes
        data = stream.read(limit + 1) if found.st_size <= limit else b""
        if found.st_size > limit or len(data) > limit:
            raise InvalidInput(
                f"{what} '{path}' is larger than the server's --max-file-bytes ({limit} bytes) and was not read."
            )
    return data
