{{/* Pieces of a unit's pod spec. */}}

{{/* The server's own emptyDir path. */}}
{{- define "mcp-server.dir" -}}
{{- printf "/srv/mcp/%s" . -}}
{{- end -}}

{{/* A server's env entries with valueFrom, as the gateway container's env: MCP_<SERVER>_<NAME>. */}}
{{- define "mcp-server.secretEnvName" -}}
{{- $server := index . 0 -}}
{{- $name := index . 1 -}}
{{- printf "MCP_%s_%s" (upper (regexReplaceAll "[^A-Za-z0-9]" $server "_")) $name -}}
{{- end -}}

{{/* The mounts every container of a server needs: (list $root $server). */}}
{{- define "mcp-server.serverMounts" -}}
{{- $s := index . 1 -}}
{{- with $s.configFile }}
{{- if .path }}
- name: config
  mountPath: {{ .path }}
  subPath: {{ printf "%s.config" $s.name }}
  readOnly: true
{{- end }}
{{- end }}
{{- with $s.volumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Init containers of a unit: every server's install steps, then its setup steps. (list $root $unit) */}}
{{- define "mcp-server.initContainers" -}}
{{- $root := index . 0 -}}
{{- $unit := index . 1 -}}
{{- range $s := $unit.servers }}
{{- if not $s.url }}
{{- $dir := include "mcp-server.dir" $s.name }}
{{- $plan := include "mcp-server.plan" (list $root $s $dir) | fromYaml }}
{{- $image := include "mcp-server.gatewayImage" $root }}
{{- $pull := $root.Values.gateway.image.pullPolicy }}
{{- if not $unit.gateway }}
{{- $image = include "mcp-server.serverImage" (list $root $s) }}
{{- $pull = dig "image" "pullPolicy" "IfNotPresent" $s }}
{{- end }}
{{- $steps := list }}
{{- range $plan.installs }}
{{- $steps = append $steps (dict "name" .name "command" .command "env" .env "install" true) }}
{{- end }}
{{- range $s.setup }}
{{- $steps = append $steps (dict "name" (required (printf "server %q: every setup step needs a name" $s.name) .name) "command" (required (printf "server %q: setup step %q needs a command (argv list)" $s.name .name) .command) "env" (default dict .env) "image" .image "install" false) }}
{{- end }}
{{- range $step := $steps }}
- name: {{ printf "%s-%s" $s.name $step.name | trunc 63 | trimSuffix "-" }}
  image: {{ default $image $step.image | quote }}
  imagePullPolicy: {{ $pull }}
  command:
    {{- toYaml $step.command | nindent 4 }}
  {{- if and $plan.cwd (not $step.install) }}
  workingDir: {{ $plan.cwd }}
  {{- end }}
  env:
    {{- include "mcp-server.envList" (merge (deepCopy (default dict $s.env)) $step.env) | trim | nindent 4 }}
    {{- with $s.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $s.envFrom }}
  envFrom:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  resources:
    {{- toYaml $root.Values.initResources | nindent 4 }}
  securityContext:
    {{- toYaml $root.Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    - name: mcp
      mountPath: /srv/mcp
    {{- if and $step.install (dig "node" "npmrc" "secretName" "" $s) }}
    - name: {{ printf "npmrc-%s" $s.name | trunc 63 | trimSuffix "-" }}
      mountPath: /etc/mcp-npmrc
      readOnly: true
    {{- end }}
    {{- with include "mcp-server.serverMounts" (list $root $s) | trim }}
    {{- . | nindent 4 }}
    {{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* A gateway probe. (list $root $path $period $failures) */}}
{{- define "mcp-server.gatewayProbe" -}}
{{- $root := index . 0 -}}
{{- $p := $root.Values.probes -}}
{{- if eq $p.type "exec" -}}
exec:
  command:
    - kubehelm-mcp-health
    - {{ printf "http://127.0.0.1:%d%s" (int $root.Values.gateway.port) (index . 1) }}
{{- else if eq $p.type "http" -}}
httpGet:
  path: {{ index . 1 }}
  port: http
  scheme: HTTP
  {{- with $p.host }}
  host: {{ . }}
  {{- end }}
{{- else -}}
{{- fail (printf "probes.type must be http or exec, not %q" $p.type) -}}
{{- end }}
periodSeconds: {{ index . 2 }}
timeoutSeconds: {{ $p.timeoutSeconds }}
failureThreshold: {{ index . 3 }}
{{- end -}}

{{/* The gateway's configuration file (no secret: secret values are ${VAR} from its env). */}}
{{- define "mcp-server.gatewayConfig" -}}
{{- $root := index . 0 -}}
{{- $unit := index . 1 -}}
{{- $servers := dict -}}
{{- range $s := $unit.servers -}}
{{- $entry := dict -}}
{{- if $s.url -}}
{{- $entry = dict "url" $s.url -}}
{{- with $s.headers }}{{ $_ := set $entry "headers" . }}{{ end -}}
{{- with $s.transport }}{{ if ne . "stdio" }}{{ $_ := set $entry "transport" . }}{{ end }}{{ end -}}
{{- else -}}
{{- $plan := include "mcp-server.plan" (list $root $s (include "mcp-server.dir" $s.name)) | fromYaml -}}
{{- if $plan.keepEntrypoint -}}
{{- fail (printf "server %q: behind the gateway, mode image needs command (the gateway starts it)" $s.name) -}}
{{- end -}}
{{- $env := $plan.env -}}
{{- range $s.extraEnv -}}
{{- if .valueFrom -}}
{{- $_ := set $env .name (printf "${%s}" (include "mcp-server.secretEnvName" (list $s.name .name))) -}}
{{- else -}}
{{- $_ := set $env .name (toString .value) -}}
{{- end -}}
{{- end -}}
{{- $entry = dict "command" (first $plan.argv) "args" (rest $plan.argv) "env" $env -}}
{{- with $plan.cwd }}{{ $_ := set $entry "cwd" . }}{{ end -}}
{{- end -}}
{{- $entry = merge $entry (default dict $s.gateway) -}}
{{- $_ := set $servers $s.name $entry -}}
{{- end -}}
{{- $config := dict "servers" $servers "combined" $unit.combined -}}
{{- with $unit.default }}{{ $_ := set $config "default" . }}{{ end -}}
{{- with $root.Values.gateway.supervision }}{{ $_ := set $config "supervision" . }}{{ end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* The unit's ConfigMap data: the gateway's file and each server's config file. */}}
{{- define "mcp-server.configData" -}}
{{- $root := index . 0 -}}
{{- $unit := index . 1 -}}
{{- $data := dict -}}
{{- if $unit.gateway -}}
{{- $_ := set $data "gateway.yaml" (include "mcp-server.gatewayConfig" (list $root $unit)) -}}
{{- end -}}
{{- range $unit.servers -}}
{{- if dig "configFile" "path" "" . -}}
{{- $_ := set $data (printf "%s.config" .name) .configFile.content -}}
{{- end -}}
{{- end -}}
{{- if $data -}}
{{- toYaml $data -}}
{{- end -}}
{{- end -}}
