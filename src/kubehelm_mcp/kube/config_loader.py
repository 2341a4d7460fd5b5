"""kubernetes-asyncio's kubeconfig loading with every file parsed by the project's bounded YAML
loader: the library reads with yaml.safe_load, which a billion-laughs kubeconfig gets through.
Imported with the first connection only, like the rest of kubernetes-asyncio."""

from __future__ import annotations

import copy
import os

from kubernetes_asyncio.client import Configuration
from kubernetes_asyncio.config.kube_config import ConfigNode, KubeConfigLoader, KubeConfigMerger

from kubehelm_mcp.kube.kubeconfig import load_kubeconfig_file

_SECTIONS = ("clusters", "contexts", "users")


class _BoundedMerger(KubeConfigMerger):
    """The library's merge (first file to name an entry wins, relative paths stay per file);
    only the parsing differs."""

    def load_config(self, path: str) -> None:
        config = load_kubeconfig_file(path)
        if self.config_merged is None:
            merged = copy.deepcopy(config)
            merged.update({section: [] for section in _SECTIONS})
            self.config_merged = ConfigNode(path, merged, path)
        for section in _SECTIONS:
            self._merge(section, config.get(section) or [], path)
        if "current-context" in config:
            self.config_merged.value["current-context"] = config["current-context"]
        self.config_files[path] = config


async def load_kubeconfig(paths: tuple[str, ...], context: str, configuration: Configuration) -> None:
    """What kubernetes_asyncio.config.load_kube_config does (without persisting refreshed tokens)."""
    merger = _BoundedMerger(os.pathsep.join(paths))
    loader = KubeConfigLoader(config_dict=merger.config, config_base_path=None, active_context=context)
    await loader.load_and_set(configuration)
