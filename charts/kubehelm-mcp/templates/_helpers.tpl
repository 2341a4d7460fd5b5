{{/* Names, labels and the few decisions several templates share. */}}

{{- define "kubehelm-mcp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kubehelm-mcp.fullname" -}}
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

{{- define "kubehelm-mcp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubehelm-mcp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kubehelm-mcp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "kubehelm-mcp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: mcp-server
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "kubehelm-mcp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kubehelm-mcp.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kubehelm-mcp.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret the pods read: the user's, or the one this chart creates. */}}
{{- define "kubehelm-mcp.secretName" -}}
{{- default (include "kubehelm-mcp.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* "true" when more than one pod may answer: replicas > 1 or an autoscaler. */}}
{{- define "kubehelm-mcp.scaled" -}}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) -}}true{{- end -}}
{{- end -}}

{{- define "kubehelm-mcp.stateless" -}}
{{- if kindIs "bool" .Values.server.stateless -}}
{{- if .Values.server.stateless -}}true{{- end -}}
{{- else -}}
{{- include "kubehelm-mcp.scaled" . -}}
{{- end -}}
{{- end -}}

{{/* --read-only: explicit value, else true for the readonly profile. */}}
{{- define "kubehelm-mcp.readOnly" -}}
{{- if kindIs "bool" .Values.server.readOnly -}}
{{- .Values.server.readOnly -}}
{{- else if eq .Values.rbac.profile "readonly" -}}
true
{{- end -}}
{{- end -}}

{{/* --allow-destructive: explicit value, else true for the admin profile. */}}
{{- define "kubehelm-mcp.allowDestructive" -}}
{{- if kindIs "bool" .Values.server.allowDestructive -}}
{{- .Values.server.allowDestructive -}}
{{- else if eq .Values.rbac.profile "admin" -}}
true
{{- end -}}
{{- end -}}

{{/* Host header globs: the Service's DNS names, ingress hosts, route hostnames, and extras. */}}
{{- define "kubehelm-mcp.allowedHosts" -}}
{{- $svc := include "kubehelm-mcp.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $hosts := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.*" $svc $ns) -}}
{{- if .Values.ingress.enabled -}}
{{- range .Values.ingress.hosts -}}
{{- $hosts = append $hosts .host -}}
{{- end -}}
{{- end -}}
{{- if .Values.httpRoute.enabled -}}
{{- range .Values.httpRoute.hostnames -}}
{{- $hosts = append $hosts . -}}
{{- end -}}
{{- end -}}
{{- range .Values.server.allowedHosts -}}
{{- $hosts = append $hosts . -}}
{{- end -}}
{{- join "," (uniq $hosts) -}}
{{- end -}}

{{/* Settings the chart drives itself: refused in .Values.config (a secret would land in a literal). */}}
{{- define "kubehelm-mcp.reservedSettings" -}}
transport host port path in-cluster stateless read-only allow-destructive http-allowed-hosts
auth-token oidc-issuer oidc-audience oidc-jwks-url required-scopes required-roles allowed-clients
allow-unauthenticated cluster-identity impersonation-user-claim impersonation-groups-claim
impersonation-prefix impersonation-groups-prefix obo-token-url obo-client-id obo-client-secret
obo-audience obo-scope tls-cert tls-key request-state-keys kubeconfig
{{- end -}}

{{/* A value as a KUBEHELM_MCP_* string: lists comma-joined, booleans true/false. */}}
{{- define "kubehelm-mcp.envValue" -}}
{{- if kindIs "slice" . -}}
{{- join "," . -}}
{{- else if kindIs "float64" . -}}
{{- /* YAML numbers arrive as float64: print 30 as 30, 0.5 as 0.5 */ -}}
{{- if eq (float64 (int64 .)) . -}}{{- int64 . -}}{{- else -}}{{- . -}}{{- end -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end -}}

{{- define "kubehelm-mcp.env" -}}
{{- $reserved := splitList " " (include "kubehelm-mcp.reservedSettings" . | replace "\n" " ") -}}
- name: KUBEHELM_MCP_TRANSPORT
  value: http
- name: KUBEHELM_MCP_HOST
  value: {{ .Values.server.host | quote }}
- name: KUBEHELM_MCP_PORT
  value: {{ .Values.server.port | quote }}
- name: KUBEHELM_MCP_PATH
  value: {{ .Values.server.path | quote }}
- name: KUBEHELM_MCP_IN_CLUSTER
  value: "true"
- name: KUBEHELM_MCP_HTTP_ALLOWED_HOSTS
  value: {{ include "kubehelm-mcp.allowedHosts" . | quote }}
{{- with include "kubehelm-mcp.readOnly" . }}
- name: KUBEHELM_MCP_READ_ONLY
  value: {{ . | quote }}
{{- end }}
{{- with include "kubehelm-mcp.allowDestructive" . }}
- name: KUBEHELM_MCP_ALLOW_DESTRUCTIVE
  value: {{ . | quote }}
{{- end }}
{{- if include "kubehelm-mcp.stateless" . }}
- name: KUBEHELM_MCP_STATELESS
  value: "true"
- name: KUBEHELM_MCP_REQUEST_STATE_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ include "kubehelm-mcp.secretName" . }}
      key: {{ .Values.secrets.requestStateKeysKey }}
{{- end }}
{{- if eq .Values.auth.mode "token" }}
- name: KUBEHELM_MCP_AUTH_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "kubehelm-mcp.secretName" . }}
      key: {{ .Values.secrets.authTokenKey }}
{{- else if eq .Values.auth.mode "oidc" }}
{{- $oidc := .Values.auth.oidc }}
- name: KUBEHELM_MCP_OIDC_ISSUER
  value: {{ required "auth.oidc.issuer is required with auth.mode=oidc" $oidc.issuer | quote }}
- name: KUBEHELM_MCP_OIDC_AUDIENCE
  value: {{ required "auth.oidc.audience is required with auth.mode=oidc" $oidc.audience | quote }}
{{- with $oidc.jwksUrl }}
- name: KUBEHELM_MCP_OIDC_JWKS_URL
  value: {{ . | quote }}
{{- end }}
{{- with $oidc.requiredScopes }}
- name: KUBEHELM_MCP_REQUIRED_SCOPES
  value: {{ join "," . | quote }}
{{- end }}
{{- with $oidc.requiredRoles }}
- name: KUBEHELM_MCP_REQUIRED_ROLES
  value: {{ join "," . | quote }}
{{- end }}
{{- with $oidc.allowedClients }}
- name: KUBEHELM_MCP_ALLOWED_CLIENTS
  value: {{ join "," . | quote }}
{{- end }}
{{- else if eq .Values.auth.mode "none" }}
- name: KUBEHELM_MCP_ALLOW_UNAUTHENTICATED
  value: "true"
{{- end }}
{{- $id := .Values.identity }}
{{- if ne $id.mode "server" }}
{{- if ne .Values.auth.mode "oidc" }}
{{- fail (printf "identity.mode=%s needs auth.mode=oidc: the caller's identity comes from its token" $id.mode) }}
{{- end }}
- name: KUBEHELM_MCP_CLUSTER_IDENTITY
  value: {{ $id.mode | quote }}
- name: KUBEHELM_MCP_IMPERSONATION_USER_CLAIM
  value: {{ $id.userClaim | quote }}
- name: KUBEHELM_MCP_IMPERSONATION_GROUPS_CLAIM
  value: {{ $id.groupsClaim | quote }}
- name: KUBEHELM_MCP_IMPERSONATION_PREFIX
  value: {{ $id.userPrefix | quote }}
- name: KUBEHELM_MCP_IMPERSONATION_GROUPS_PREFIX
  value: {{ $id.groupsPrefix | quote }}
{{- if eq $id.mode "obo" }}
- name: KUBEHELM_MCP_OBO_TOKEN_URL
  value: {{ required "identity.obo.tokenUrl is required with identity.mode=obo" $id.obo.tokenUrl | quote }}
- name: KUBEHELM_MCP_OBO_CLIENT_ID
  value: {{ required "identity.obo.clientId is required with identity.mode=obo" $id.obo.clientId | quote }}
- name: KUBEHELM_MCP_OBO_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "kubehelm-mcp.secretName" . }}
      key: {{ .Values.secrets.oboClientSecretKey }}
{{- with $id.obo.audience }}
- name: KUBEHELM_MCP_OBO_AUDIENCE
  value: {{ . | quote }}
{{- end }}
{{- with $id.obo.scope }}
- name: KUBEHELM_MCP_OBO_SCOPE
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- if .Values.tls.enabled }}
- name: KUBEHELM_MCP_TLS_CERT
  value: /etc/kubehelm-mcp/tls/tls.crt
- name: KUBEHELM_MCP_TLS_KEY
  value: /etc/kubehelm-mcp/tls/tls.key
{{- end }}
{{- range $name, $value := .Values.config }}
{{- if has $name $reserved }}
{{- fail (printf "config.%s is set by the chart's own values (see README: server, auth, identity, secrets, tls)" $name) }}
{{- end }}
{{- if not (regexMatch "^[a-z][a-z0-9-]*$" $name) }}
{{- fail (printf "config.%s: use the flag name without dashes in front, e.g. query-timeout" $name) }}
{{- end }}
{{- if not (kindIs "invalid" $value) }}
- name: {{ printf "KUBEHELM_MCP_%s" ($name | upper | replace "-" "_") }}
  value: {{ include "kubehelm-mcp.envValue" $value | quote }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A probe: the full override when given, else HTTP (with host) or exec of kubehelm-mcp-health. */}}
{{- define "kubehelm-mcp.probe" -}}
{{- $root := index . 0 -}}
{{- $override := index . 1 -}}
{{- $p := index . 2 -}}
{{- if $override -}}
{{- toYaml $override -}}
{{- else -}}
{{- $scheme := ternary "HTTPS" "HTTP" $root.Values.tls.enabled -}}
{{- if eq $root.Values.probes.type "exec" -}}
exec:
  command:
    - kubehelm-mcp-health
    - {{ printf "%s://127.0.0.1:%d%s" (lower $scheme) (int $root.Values.server.port) $p.path }}
{{- else -}}
httpGet:
  path: {{ $p.path }}
  port: http
  scheme: {{ $scheme }}
  {{- with $root.Values.probes.host }}
  host: {{ . }}
  {{- end }}
{{- end }}
periodSeconds: {{ $p.periodSeconds }}
timeoutSeconds: {{ $p.timeoutSeconds }}
failureThreshold: {{ $p.failureThreshold }}
{{- end -}}
{{- end -}}
