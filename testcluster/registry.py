"""A real OCI registry on 127.0.0.1 (Debian's docker-registry, the CNCF distribution server) for
helm push/pull and registry login, with or without htpasswd basic auth."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from .procs import Daemon, free_ports, spawn, stop_daemons, wait_for

# The registry accepts only bcrypt htpasswd entries. This fixed test credential's hash was made
# once with crypt(3) (`crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))`),
# so no bcrypt library or htpasswd binary is needed at test time.
TEST_USER = "chartpusher"
TEST_PASSWORD = "s3cret-Registry-pw"  # noqa: S105 - a throwaway test credential
TEST_PASSWORD_BCRYPT = "$2b$04$L5N1PFQ7XkbnUaW5ykrETuDjdyacT3xEM6p9SvMYTa9.bzcWDHg7K"  # noqa: S105


@dataclass
class OciRegistry:
    daemon: Daemon
    port: int
    auth: bool

    @property
    def host(self) -> str:
        """host:port as helm registry login wants it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"oci://{self.host}"

    @classmethod
    def start(cls, binary: Path, workdir: Path, *, auth: bool = False) -> OciRegistry:
        workdir.mkdir(parents=True, exist_ok=True)
        (port,) = free_ports(1)
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(workdir / "storage")}, "delete": {"enabled": True}},
            "http": {"addr": f"127.0.0.1:{port}"},
        }
        if auth:
            htpasswd = workdir / "htpasswd"
            htpasswd.write_text(f"{TEST_USER}:{TEST_PASSWORD_BCRYPT}\n")
            config["auth"] = {"htpasswd": {"realm": "kubehelm-test", "path": str(htpasswd)}}
        config_file = workdir / "config.yml"
        config_file.write_text(yaml.safe_dump(config))
        daemon = spawn("docker-registry", [binary, "serve", config_file], workdir)
        registry = cls(daemon, port, auth)
        try:
            wait_for(registry._answers, timeout=30, what="the OCI registry", watch=[daemon])
        except Exception:
            registry.stop()
            raise
        return registry

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2) as response:
                return bool(response.status == 200)
        except urllib.error.HTTPError as error:
            return error.code == 401  # up, and asking for credentials

    def stop(self) -> None:
        stop_daemons([self.daemon])
