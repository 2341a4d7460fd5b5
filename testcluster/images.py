"""Container images without a registry: docker-archive tarballs from Debian's static busybox.

No registry is reachable, so the node gets its images by `ctr images import` of one archive
holding two tags that share one layer: a general-purpose busybox and the pod-sandbox image.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from collections.abc import Mapping
from pathlib import Path

# Image names point at a registry on loopback that does not exist: should anything ever try
# to pull one, containerd's request goes to 127.0.0.1 and fails there, never to DNS or a network.
BUSYBOX_IMAGE = "127.0.0.1/kubehelm/busybox:1"
PAUSE_IMAGE = "127.0.0.1/kubehelm/pause:1"
# For image-pull failure scenarios: nothing listens on port 9 (discard) of loopback.
UNPULLABLE_IMAGE = "127.0.0.1:9/kubehelm/absent:1"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The sandbox only has to hold the pod's namespaces; it exits cleanly on TERM.
PAUSE_CMD = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]
ETC_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    "etc/group": "root:x:0:\nnobody:x:65534:\n",
}


def archive_name() -> str:
    """The cached archive's file name changes with the tags it holds (a rename rebuilds it)."""
    key = hashlib.sha256(f"{BUSYBOX_IMAGE}\n{PAUSE_IMAGE}\n{PAUSE_CMD}".encode()).hexdigest()[:12]
    return f"busybox-{key}.tar"


def _add(
    archive: tarfile.TarFile,
    name: str,
    *,
    kind: bytes = tarfile.REGTYPE,
    data: bytes = b"",
    mode: int = 0o644,
    link: str = "",
) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname, info.size = kind, mode, link, len(data)
    archive.addfile(info, io.BytesIO(data) if data else None)


def _layer(busybox: Path) -> bytes:
    """One reproducible layer: bin/busybox, its applet symlinks and a minimal /etc."""
    applets = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as layer:
        for directory in [
            "bin",
            "sbin",
            "usr",
            "usr/bin",
            "usr/sbin",
            "etc",
            "root",
            "dev",
            "proc",
            "sys",
            "var",
            "home",
        ]:
            _add(layer, directory, kind=tarfile.DIRTYPE, mode=0o755)
        for directory in ["tmp", "var/tmp"]:
            _add(layer, directory, kind=tarfile.DIRTYPE, mode=0o1777)
        _add(layer, "bin/busybox", data=busybox.read_bytes(), mode=0o755)
        for applet in applets:
            if applet != "bin/busybox":
                _add(layer, applet, kind=tarfile.SYMTYPE, link="/bin/busybox", mode=0o777)
        for name, text in ETC_FILES.items():
            _add(layer, name, data=text.encode())
    return buffer.getvalue()


def _config(layer_digest: str, config: Mapping[str, object]) -> bytes:
    return json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2021-01-01T00:00:00Z",
            "config": {"Env": [PATH_ENV], "WorkingDir": "/", **config},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        },
        sort_keys=True,
    ).encode()


def build_archive(busybox: Path, dest: Path) -> Path:
    """Write the docker-archive (docker save format) to dest atomically; return dest."""
    layer = _layer(busybox)
    layer_sha = hashlib.sha256(layer).hexdigest()
    images = {BUSYBOX_IMAGE: {"Cmd": ["sh"]}, PAUSE_IMAGE: {"Entrypoint": PAUSE_CMD}}
    manifest = []
    staged = dest.with_suffix(".tmp")
    with tarfile.open(staged, "w") as archive:
        _add(archive, f"{layer_sha}/", kind=tarfile.DIRTYPE, mode=0o755)
        _add(archive, f"{layer_sha}/layer.tar", data=layer)
        for tag, config in images.items():
            blob = _config(f"sha256:{layer_sha}", config)
            name = f"{hashlib.sha256(blob).hexdigest()}.json"
            _add(archive, name, data=blob)
            manifest.append({"Config": name, "RepoTags": [tag], "Layers": [f"{layer_sha}/layer.tar"]})
        _add(archive, "manifest.json", data=json.dumps(manifest).encode())
    os.replace(staged, dest)
    return dest
