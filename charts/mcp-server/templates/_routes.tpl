{{/* Where the Ingress and the HTTPRoute send a path: [{path, service}]. One unit: everything
under /; one Deployment per server: /servers/<name>/ to that server's Service. */}}
{{- define "mcp-server.routes" -}}
{{- $units := (include "mcp-server.units" . | fromYaml).units -}}
{{- $routes := list -}}
{{- if and (eq (len $units) 1) (not (and .Values.servers (eq .Values.gateway.layout "perServer"))) -}}
{{- $routes = list (dict "prefix" "" "service" (index $units 0).name) -}}
{{- else -}}
{{- range $units -}}
{{- $routes = append $routes (dict "prefix" (printf "/servers/%s" (index .servers 0).name) "service" .name) -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "routes" $routes) -}}
{{- end -}}

{{/* A base path and a route prefix joined: (list "/tools" "/servers/a") -> /tools/servers/a; "/" alone stays "/". */}}
{{- define "mcp-server.joinPath" -}}
{{- $joined := printf "%s%s" (trimSuffix "/" (index . 0)) (index . 1) -}}
{{- default "/" $joined -}}
{{- end -}}
