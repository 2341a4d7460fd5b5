{{/* Names, labels, images. */}}

{{- define "mcp-server.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mcp-server.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mcp-server.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcp-server.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mcp-server.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mcp-server.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "mcp-server.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mcp-server.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* An image reference from {repository, tag, digest}; (list $image $defaultTag). */}}
{{- define "mcp-server.imageRef" -}}
{{- $image := index . 0 -}}
{{- $defaultTag := index . 1 -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else if or $image.tag $defaultTag -}}
{{- printf "%s:%s" $image.repository (default $defaultTag $image.tag) -}}
{{- else -}}
{{- $image.repository -}}
{{- end -}}
{{- end -}}

{{- define "mcp-server.gatewayImage" -}}
{{- include "mcp-server.imageRef" (list .Values.gateway.image .Chart.AppVersion) -}}
{{- end -}}

{{/* The image a standalone server runs in: its own, else the runtime of its mode. */}}
{{- define "mcp-server.serverImage" -}}
{{- $root := index . 0 -}}
{{- $s := index . 1 -}}
{{- if and $s.image $s.image.repository -}}
{{- include "mcp-server.imageRef" (list $s.image "") -}}
{{- else if eq $s.mode "node" -}}
{{- $root.Values.runtimeImages.node -}}
{{- else if eq $s.mode "python" -}}
{{- index $root.Values.runtimeImages (default "uv" $s.python.installer) -}}
{{- else -}}
{{- fail (printf "server %q: mode image needs image.repository" $s.name) -}}
{{- end -}}
{{- end -}}

{{/* Host header globs: the Services' DNS names, ingress hosts, route hostnames, and extras. */}}
{{- define "mcp-server.allowedHosts" -}}
{{- $root := index . 0 -}}
{{- $unit := index . 1 -}}
{{- $ns := $root.Release.Namespace -}}
{{- $hosts := list $unit.name (printf "%s.%s" $unit.name $ns) (printf "%s.%s.svc" $unit.name $ns) (printf "%s.%s.svc.*" $unit.name $ns) -}}
{{- if $root.Values.ingress.enabled -}}
{{- range $root.Values.ingress.hosts -}}
{{- $hosts = append $hosts .host -}}
{{- end -}}
{{- end -}}
{{- if $root.Values.httpRoute.enabled -}}
{{- range $root.Values.httpRoute.hostnames -}}
{{- $hosts = append $hosts . -}}
{{- end -}}
{{- end -}}
{{- range $root.Values.gateway.allowedHosts -}}
{{- $hosts = append $hosts . -}}
{{- end -}}
{{- join "," (uniq $hosts) -}}
{{- end -}}

{{/*
The workloads of the release, as YAML {units: [...]}. A unit is one Deployment and its Service:
  name, gateway (bool), servers (list), port, path (the MCP path the Service's clients use),
  default (gateway default server), combined (bool), spec (per-server scheduling overrides).
*/}}
{{- define "mcp-server.units" -}}
{{- $full := include "mcp-server.fullname" . -}}
{{- $units := list -}}
{{- if .Values.servers -}}
{{- $names := list -}}
{{- range .Values.servers -}}
{{- if not .name -}}{{- fail "every entry of servers needs a name" -}}{{- end -}}
{{- if has .name $names -}}{{- fail (printf "servers: the name %q is used twice" .name) -}}{{- end -}}
{{- $names = append $names .name -}}
{{- end -}}
{{- if eq .Values.gateway.layout "perServer" -}}
{{- range .Values.servers -}}
{{- $unit := dict "name" (printf "%s-%s" $full .name | trunc 63 | trimSuffix "-") "gateway" true "servers" (list .) "default" .name "combined" false "spec" . "component" .name -}}
{{- $units = append $units $unit -}}
{{- end -}}
{{- else if eq .Values.gateway.layout "shared" -}}
{{- $units = append $units (dict "name" $full "gateway" true "servers" .Values.servers "default" .Values.gateway.default "combined" .Values.gateway.combined "spec" dict "component" "gateway") -}}
{{- else -}}
{{- fail (printf "gateway.layout must be shared or perServer, not %q" .Values.gateway.layout) -}}
{{- end -}}
{{- else if eq .Values.server.transport "stdio" -}}
{{- $units = append $units (dict "name" $full "gateway" true "servers" (list .Values.server) "default" (default .Values.server.name .Values.gateway.default) "combined" false "spec" dict "component" "gateway") -}}
{{- else if eq .Values.server.transport "http" -}}
{{- $units = append $units (dict "name" $full "gateway" false "servers" (list .Values.server) "default" "" "combined" false "spec" dict "component" "server") -}}
{{- else -}}
{{- fail (printf "server.transport must be http or stdio, not %q" .Values.server.transport) -}}
{{- end -}}
{{- $out := list -}}
{{- range $units -}}
{{- if .gateway -}}
{{- $_ := set . "port" (int $.Values.gateway.port) -}}
{{- $_ := set . "path" (ternary "/mcp" "/combined/mcp" (not .combined)) -}}
{{- else -}}
{{- $s := index .servers 0 -}}
{{- $_ := set . "port" (int $s.http.port) -}}
{{- $_ := set . "path" $s.http.path -}}
{{- end -}}
{{- $out = append $out . -}}
{{- end -}}
{{- toYaml (dict "units" $out) -}}
{{- end -}}

{{/* A per-unit value: the server's own (perServer layout) or the release-wide one. (list $root $unit "key") */}}
{{- define "mcp-server.unitValue" -}}
{{- $root := index . 0 -}}
{{- $unit := index . 1 -}}
{{- $key := index . 2 -}}
{{- if hasKey $unit.spec $key -}}
{{- toYaml (index $unit.spec $key) -}}
{{- else -}}
{{- toYaml (index $root.Values $key) -}}
{{- end -}}
{{- end -}}
