"""k8s_diagnose: why a workload, pod, Service, claim, namespace or Helm release is not working,
in one call: only the facts that explain the failure, each once."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from kubehelm_mcp.concurrency import gather
from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import NotFound
from kubehelm_mcp.helm.manifests import split_manifest
from kubehelm_mcp.kube.diagnosis.facts import ContainerFacts, PodFacts, Subject, cut
from kubehelm_mcp.kube.diagnosis.report import OBJECT_KINDS, diagnose
from kubehelm_mcp.kube.diagnosis.scene import Scene
from kubehelm_mcp.kube.diagnosis.workload_report import label
from kubehelm_mcp.tooling import READ_ONLY, AnyTool, Category, FleetInput, Target, Tool, ToolResult, Touches
from kubehelm_mcp.toolsets.kubernetes.common import explain_not_found
from kubehelm_mcp.validators import ObjectName

RELEASE = "HelmRelease"
KINDS = (*OBJECT_KINDS, "Namespace", RELEASE)
ALIASES = {
    **{kind.lower(): kind for kind in KINDS},
    **{f"{kind.lower()}s": kind for kind in KINDS},
    "deploy": "Deployment",
    "sts": "StatefulSet",
    "ds": "DaemonSet",
    "rs": "ReplicaSet",
    "cj": "CronJob",
    "po": "Pod",
    "svc": "Service",
    "pvc": "PersistentVolumeClaim",
    "ns": "Namespace",
    "release": RELEASE,
    "releases": RELEASE,
    "helm": RELEASE,
}
# Hooks that still exist after they ran: a failed hook Job is often the release's failure.
HOOK_KINDS = frozenset({"Job", "Pod"})
MAX_ALIKE_NAMED = 3
RELEASE_DESCRIPTION_CHARS = 1000  # helm's failure can name several objects


class DiagnoseInput(FleetInput):
    kind: str = Field(
        description="A workload kind, Pod, Service, PersistentVolumeClaim, Namespace or HelmRelease; short names ok."
    )
    name: ObjectName = Field(min_length=1, max_length=253, description="A Namespace's: the namespace.")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        kind = ALIASES.get(value.strip().lower())
        if kind is None:
            raise ValueError(f"cannot be diagnosed; use one of {', '.join(KINDS)}")
        return kind

    @model_validator(mode="after")
    def _namespace_is_its_name(self) -> DiagnoseInput:
        """A Namespace is diagnosed in itself: the policy's namespace scope then sees the one it reads."""
        if self.kind == "Namespace":
            if self.namespace and self.namespace != self.name:
                raise ValueError(f"namespace '{self.namespace}' contradicts Namespace '{self.name}'; pass only name")
            self.namespace = self.name
        return self

    def target(self) -> Target:
        return Target(kind=None if self.kind == RELEASE else self.kind, names=(self.name,))


def _container_line(c: ContainerFacts) -> str:
    text = f"{c.name}: {c.reason or 'not ready'}" + (f" ({c.message})" if c.message else "")
    if c.last_reason is not None:
        text += f", last exit {c.exit_code} ({c.last_reason})"
    elif c.exit_code is not None:
        text += f", exit {c.exit_code}"
    return text + (f", {c.restarts} restart(s)" if c.restarts else "")


def _pod_lines(pod: PodFacts, itself: bool) -> list[str]:
    """itself: the subject is this pod, whose header already says its name and phase."""
    alike = ""
    if pod.like:
        named = ", ".join(pod.like[:MAX_ALIKE_NAMED]) + (" ..." if len(pod.like) > MAX_ALIKE_NAMED else "")
        alike = f" (and {len(pod.like)} alike: {named})"
    lines = (
        []
        if itself and not pod.reason
        else [f"  pod {pod.name}{alike}: {pod.phase}" + (f", {pod.reason}" if pod.reason else "")]
    )
    if pod.unschedulable:
        lines.append(f"    unschedulable: {pod.unschedulable}")
    lines += [f"    {_container_line(c)}" for c in pod.containers]
    if pod.log:
        lines.append(f"    log of {pod.log_of}:")
        lines += [f"      {line}" for line in pod.log]
    return lines


def _subject_lines(s: Subject) -> list[str]:
    if s.healthy:
        return [f"{s.object}: {s.status}"]
    lines = [f"{s.object}: {s.status} - NOT OK"]
    lines += [f"  problem: {p}" for p in s.problems]
    for pod in s.pods:
        lines += _pod_lines(pod, s.object.endswith(f"/{pod.name}") and s.object.startswith("Pod "))
    for e in s.events:
        count = f" x{e.count}" if e.count > 1 else ""
        lines.append(f"  event {e.reason}{count} ({', '.join(e.objects)}): {e.message}")
    return lines


class Diagnosis(ToolResult):
    healthy: bool
    subjects: list[Subject]  # the asked-about object first, then what explains its failure
    notes: list[str] | None = None

    def to_text(self) -> str:
        if self.healthy:
            head = self.subjects[0]
            return f"{head.object} is healthy: {head.status}."
        lines = [line for s in self.subjects for line in _subject_lines(s)]
        return "\n".join([*lines, *(self.notes or [])])


async def _release_subjects(args: DiagnoseInput, ctx: CallContext, scene: Scene) -> list[Subject]:
    """The release's status and last failure, then each failing object of its manifest and hooks.
    Read from Helm's storage: both majors write the same record, and no helm process is needed."""
    reader, target = await ctx.helm.reader("v4", engine="storage"), await ctx.helm_target()
    status, (manifest, hooks) = await gather(
        reader.status(target, args.name, None),
        gather(reader.manifest(target, args.name, None), reader.hooks(target, args.name, None)),
    )
    wanted: list[tuple[dict[str, Any], bool]] = [(d["object"], False) for d in split_manifest(manifest)]
    wanted += [(d["object"], True) for d in split_manifest(hooks)]
    checks = []
    for obj, hook in wanted:
        kind, meta = obj.get("kind"), obj.get("metadata") or {}
        if kind not in (HOOK_KINDS if hook else OBJECT_KINDS) or not meta.get("name"):
            continue
        if meta.get("namespace", scene.namespace) != scene.namespace:  # the call's namespace scope ends here
            scene.notes.append(
                f"{kind} {meta['namespace']}/{meta['name']} not diagnosed: outside the release's namespace"
            )
            continue
        checks.append(_object_subjects(scene, str(kind), str(meta["name"]), missing_is_fine=hook))
    found = [s for subjects in await gather(*checks) for s in subjects]
    failing = [s for s in found if not s.healthy]
    ok = len(found) - len(failing)
    line = f"{status.status}, revision {status.revision}, chart {status.chart}; {ok} of {len(found)} object(s) OK"
    deployed = status.status == "deployed"
    head = Subject(
        object=f"Release {scene.namespace}/{args.name}",
        status=line,
        healthy=deployed and not failing,
        problems=[] if deployed else [f"last change: {cut(status.description, RELEASE_DESCRIPTION_CHARS)}"],
    )
    return [head, *failing]


async def _object_subjects(scene: Scene, kind: str, name: str, *, missing_is_fine: bool) -> list[Subject]:
    try:
        return await diagnose(scene, kind, name)
    except NotFound:
        if missing_is_fine:  # hooks are often deleted by their own policy once they succeed
            return []
        return [Subject(object=label(kind, name, scene.namespace), status="missing from the cluster", healthy=False)]


async def diagnose_object(args: DiagnoseInput, ctx: CallContext) -> Diagnosis:
    cluster, namespace = await ctx.cluster(), await ctx.namespace()
    scene = await Scene.open(cluster.api, cluster.discovery, namespace)
    if args.kind == RELEASE:
        subjects = await _release_subjects(args, ctx, scene)
    else:
        try:
            subjects = await diagnose(scene, args.kind, args.name)
        except NotFound as error:
            rt = await cluster.discovery.resolve(args.kind)
            raise await explain_not_found(cluster, rt, namespace, error) from None
    return Diagnosis(healthy=all(s.healthy for s in subjects), subjects=subjects, notes=scene.notes or None)


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_diagnose",
        touches=Touches(kinds=("pods", "pods/log", "events"), named=True),
        description="Why a workload, pod, Service, PVC, namespace or Helm release is not working, in one answer: "
        "failing pods, exit codes, last logs, scheduling, warnings, selectors.",
        input_model=DiagnoseInput,
        output_model=Diagnosis,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=diagnose_object,
    ),
]
