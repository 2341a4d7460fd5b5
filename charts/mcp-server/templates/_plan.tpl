{{/*
How one server is installed and run, as YAML, shared by the standalone container and the
gateway's config so both run exactly the same argv:
  argv      the command and its arguments, one list item each (never a shell string)
  keepEntrypoint  mode image without a command: only `args`, the image's entrypoint stays
  cwd       working directory (node: where the package was installed)
  env       name -> value the server needs from the chart (the user's env wins)
  installs  init containers: [{name, command, env}] run in the same image before the server
Input: (list $root $server $dir) with $dir the server's own emptyDir path under /srv/mcp.
*/}}
{{- define "mcp-server.plan" -}}
{{- $root := index . 0 -}}
{{- $s := index . 1 -}}
{{- $dir := index . 2 -}}
{{- $mode := default "image" $s.mode -}}
{{- $args := default list $s.args -}}
{{- $plan := dict "argv" list "keepEntrypoint" false "cwd" "" "env" dict "installs" list -}}
{{- if eq $mode "image" -}}
{{- if $s.command -}}
{{- $_ := set $plan "argv" (concat $s.command $args) -}}
{{- else -}}
{{- $_ := set $plan "argv" $args -}}
{{- $_ := set $plan "keepEntrypoint" true -}}
{{- end -}}
{{- else if eq $mode "node" -}}
{{- $node := default dict $s.node -}}
{{- $pkg := required (printf "server %q: mode node needs node.package" $s.name) $node.package -}}
{{- if not (regexMatch "^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*@[^@\\s]+$" $pkg) -}}
{{- fail (printf "server %q: node.package %q needs an exact version, e.g. @scope/name@1.2.3" $s.name $pkg) -}}
{{- end -}}
{{- $npmEnv := dict "HOME" "/tmp" "npm_config_cache" "/tmp/npm-cache" "npm_config_update_notifier" "false" -}}
{{- $install := list "npm" "install" "--prefix" $dir "--no-save" "--no-package-lock" "--no-audit" "--no-fund" "--omit=dev" -}}
{{- with $node.registry -}}
{{- $install = concat $install (list "--registry" .) -}}
{{- end -}}
{{- $installEnv := deepCopy $npmEnv -}}
{{- if and $node.npmrc $node.npmrc.secretName -}}
{{- $_ := set $installEnv "NPM_CONFIG_USERCONFIG" "/etc/mcp-npmrc/.npmrc" -}}
{{- end -}}
{{- $_ := set $plan "installs" (list (dict "name" "install" "command" (append $install $pkg) "env" $installEnv)) -}}
{{- /* npx finds the package installed in the working directory; --offline keeps it from any registry */ -}}
{{- if $node.bin -}}
{{- $_ := set $plan "argv" (concat (list "npx" "--offline" "--package" $pkg "--" $node.bin) $args) -}}
{{- else -}}
{{- $_ := set $plan "argv" (concat (list "npx" "--offline" "--" $pkg) $args) -}}
{{- end -}}
{{- $_ := set $plan "cwd" $dir -}}
{{- $_ := set $plan "env" $npmEnv -}}
{{- else if eq $mode "python" -}}
{{- $py := default dict $s.python -}}
{{- $git := default dict $py.git -}}
{{- $spec := "" -}}
{{- $command := $py.command -}}
{{- if $git.url -}}
{{- $spec = printf "git+%s" $git.url -}}
{{- with $git.ref }}{{ $spec = printf "%s@%s" $spec . }}{{ end -}}
{{- with $git.subdirectory }}{{ $spec = printf "%s#subdirectory=%s" $spec . }}{{ end -}}
{{- if not $command -}}
{{- fail (printf "server %q: python.git needs python.command (the console script to run)" $s.name) -}}
{{- end -}}
{{- else -}}
{{- $spec = required (printf "server %q: mode python needs python.package or python.git.url" $s.name) $py.package -}}
{{- if not (regexMatch "(==|===|~=|>=|<=|@)" $spec) -}}
{{- fail (printf "server %q: python.package %q needs a version, e.g. name==1.2.3" $s.name $spec) -}}
{{- end -}}
{{- if not $command -}}
{{- $command = regexReplaceAll "[\\[ =<>~!@;].*$" $spec "" -}}
{{- end -}}
{{- end -}}
{{- $index := list -}}
{{- with $py.indexUrl }}{{ $index = list "--index-url" . }}{{ end -}}
{{- range $py.extraIndexUrls }}{{ $index = concat $index (list "--extra-index-url" .) }}{{ end -}}
{{- $installer := default "uv" $py.installer -}}
{{- if eq $installer "uv" -}}
{{- $env := dict "HOME" "/tmp" "UV_CACHE_DIR" "/tmp/uv-cache" "UV_PYTHON_DOWNLOADS" "never" "UV_TOOL_DIR" (printf "%s/tools" $dir) "UV_TOOL_BIN_DIR" (printf "%s/bin" $dir) -}}
{{- $install := list "uv" "tool" "install" "--no-config" -}}
{{- with $py.interpreter }}{{ $install = concat $install (list "--python" .) }}{{ end -}}
{{- $install = concat $install $index (list $spec) -}}
{{- $_ := set $plan "installs" (list (dict "name" "install" "command" $install "env" $env)) -}}
{{- $_ := set $plan "argv" (concat (list (printf "%s/bin/%s" $dir $command)) $args) -}}
{{- else if eq $installer "pip" -}}
{{- $env := dict "HOME" "/tmp" "PIP_NO_CACHE_DIR" "1" "PIP_DISABLE_PIP_VERSION_CHECK" "1" -}}
{{- $venv := printf "%s/venv" $dir -}}
{{- $python := default "python3" $py.interpreter -}}
{{- $install := concat (list (printf "%s/bin/python" $venv) "-m" "pip" "install") $index (list $spec) -}}
{{- $_ := set $plan "installs" (list (dict "name" "venv" "command" (list $python "-m" "venv" $venv) "env" $env) (dict "name" "install" "command" $install "env" $env)) -}}
{{- $_ := set $plan "argv" (concat (list (printf "%s/bin/%s" $venv $command)) $args) -}}
{{- else -}}
{{- fail (printf "server %q: python.installer must be uv or pip, not %q" $s.name $installer) -}}
{{- end -}}
{{- $_ := set $plan "env" (dict "HOME" "/tmp") -}}
{{- else -}}
{{- fail (printf "server %q: mode must be image, node or python, not %q" $s.name $mode) -}}
{{- end -}}
{{- /* the user's env wins over the chart's: one entry per name, never two */ -}}
{{- $env := dict -}}
{{- range $name, $value := merge (deepCopy (default dict $s.env)) $plan.env -}}
{{- $_ := set $env $name (toString $value) -}}
{{- end -}}
{{- $_ := set $plan "env" $env -}}
{{- /* Kubernetes and the gateway take arguments as strings: a YAML 8000 becomes "8000" */ -}}
{{- $argv := list -}}
{{- range $plan.argv }}{{ $argv = append $argv (toString .) }}{{ end -}}
{{- $_ := set $plan "argv" $argv -}}
{{- toYaml $plan -}}
{{- end -}}

{{/* env entries from a name -> value map, sorted, values as strings. */}}
{{- define "mcp-server.envList" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end -}}
