"""Helm's config, cache and data homes, kept private: repository and registry credentials, cached
indexes and plugins are readable by the server's user only (files 0600, or 0700 when executable;
directories 0700).

Helm runs with umask 077, which covers what it creates with os.WriteFile or MkdirAll; helm v4
writes some files through an atomic rename that sets 0644 explicitly, so the homes are also swept
after each run.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

HELM_UMASK = 0o077
_PRIVATE = ~0o077  # no group or other permission bits

# (variable, XDG variable, default under the home directory) for each home, as helm resolves them
_HOMES = (
    ("HELM_CONFIG_HOME", "XDG_CONFIG_HOME", ".config"),
    ("HELM_CACHE_HOME", "XDG_CACHE_HOME", ".cache"),
    ("HELM_DATA_HOME", "XDG_DATA_HOME", ".local/share"),
)
# Paths helm lets be moved out of the homes, directories or files.
_MOVABLE = ("HELM_REPOSITORY_CONFIG", "HELM_REPOSITORY_CACHE", "HELM_REGISTRY_CONFIG", "HELM_PLUGINS")

log = logging.getLogger(__name__)


def _homes(env: Mapping[str, str]) -> list[Path]:
    home = Path(env.get("HOME") or Path.home())
    return [
        Path(env[var]) if env.get(var) else Path(env.get(xdg) or home / default) / "helm"
        for var, xdg, default in _HOMES
    ]


def helm_private_paths(env: Mapping[str, str]) -> list[Path]:
    """The homes helm uses under `env`, then any of its files or directories moved elsewhere."""
    return _homes(env) + [Path(env[var]) for var in _MOVABLE if env.get(var)]


def helm_credential_paths(env: Mapping[str, str]) -> list[Path]:
    """Where helm keeps repository and registry credentials under `env`: its config home (which holds
    repositories.yaml and registry/config.json) and those two files wherever they were moved."""
    moved = ("HELM_REPOSITORY_CONFIG", "HELM_REGISTRY_CONFIG")
    return [_homes(env)[0], *(Path(env[var]) for var in moved if env.get(var))]


def _entries(root: Path) -> Iterator[Path]:
    """root and everything below it; symlinks are neither followed nor changed (a plugin
    installed from a directory is a link to the user's own files)."""
    yield root
    if root.is_dir() and not root.is_symlink():
        for directory, dirs, files in os.walk(root):
            yield from (Path(directory, name) for name in (*dirs, *files))


def _tighten(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            return
        if stat.S_IMODE(mode) & 0o077:
            path.chmod(stat.S_IMODE(mode) & _PRIVATE)
    except OSError as exc:  # gone meanwhile, or another user's file in a shared home
        log.debug("cannot make %s private: %s", path, exc.__class__.__name__)


def make_private(env: Mapping[str, str]) -> None:
    """Strip group and other permissions from everything in helm's homes (blocking: run in a thread)."""
    for root in helm_private_paths(env):
        if root.exists():
            for path in _entries(root):
                _tighten(path)
