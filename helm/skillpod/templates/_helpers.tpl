{{/*
Helpers of the Skillpod chart. Every name is fixed (one release per cluster), so nothing here depends on the
release name except the instance label.
*/}}

{{- define "skillpod.chart" -}}
{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object the chart renders. */}}
{{- define "skillpod.labels" -}}
helm.sh/chart: {{ include "skillpod.chart" . }}
app.kubernetes.io/part-of: skillpod
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The operator's pod selector; never change it (a Deployment's selector is immutable). */}}
{{- define "skillpod.selectorLabels" -}}
app.kubernetes.io/name: skillpod-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* repository[:tag][@digest] from {repository, tag, digest}; the tag defaults to the chart's appVersion. */}}
{{- define "skillpod.image" -}}
{{- $image := index . 0 -}}
{{- $root := index . 1 -}}
{{- if $image.digest -}}
{{ $image.repository }}@{{ $image.digest }}
{{- else -}}
{{ $image.repository }}:{{ $image.tag | default $root.Chart.AppVersion }}
{{- end -}}
{{- end }}

{{/*
Adds the chart's labels to a manifest read from files/, crds/ or skillpacks/ and prints it. The manifest's own
labels win, except app.kubernetes.io/managed-by, which Helm needs to own the object.
Argument: (list $object $root [extraAnnotations]).
*/}}
{{- define "skillpod.renderManifest" -}}
{{- $obj := index . 0 -}}
{{- $root := index . 1 -}}
{{- $meta := $obj.metadata | default dict -}}
{{- $labels := merge (dict "app.kubernetes.io/managed-by" $root.Release.Service) ($meta.labels | default dict) (include "skillpod.labels" $root | fromYaml) -}}
{{- $_ := set $meta "labels" $labels -}}
{{- if gt (len .) 2 -}}
{{- $annotations := merge ($meta.annotations | default dict) (index . 2) -}}
{{- $_ := set $meta "annotations" $annotations -}}
{{- end -}}
{{- $_ := set $obj "metadata" $meta -}}
{{ toYaml $obj }}
{{- end }}

{{/*
The YAML documents of a file as objects, with every "skillpod-system" replaced by the release namespace (the
files name the operator's namespace literally: object namespaces, binding subjects, service-account user names in
admission expressions). Prints a JSON list; use with fromJsonArray. Argument: (list $root $path).
*/}}
{{- define "skillpod.readManifests" -}}
{{- $root := index . 0 -}}
{{- $path := index . 1 -}}
{{- $text := $root.Files.Get $path | replace "skillpod-system" $root.Release.Namespace -}}
{{- $objects := list -}}
{{- range $doc := regexSplit "(?m)^---[ \\t]*$" $text -1 -}}
{{- $obj := fromYaml $doc -}}
{{- if hasKey $obj "Error" -}}
{{- fail (printf "%s: %s" $path $obj.Error) -}}
{{- end -}}
{{- if $obj.kind -}}
{{- $objects = append $objects $obj -}}
{{- end -}}
{{- end -}}
{{- toJson $objects -}}
{{- end }}

{{/* True ("true") when the grant policy allows verb on resource in group; argument (list $allowlist group resource verb). */}}
{{- define "skillpod.allows" -}}
{{- $allowlist := index . 0 -}}
{{- $group := index . 1 -}}
{{- $resource := index . 2 -}}
{{- $verb := index . 3 -}}
{{- $found := false -}}
{{- range $entry := $allowlist -}}
{{- if and (has $group $entry.apiGroups) (has $resource $entry.resources) (has $verb $entry.verbs) -}}
{{- $found = true -}}
{{- end -}}
{{- end -}}
{{- $found -}}
{{- end }}

{{/*
Fails the render when a SkillPack asks for more than grantPolicy allows: the admission policy would refuse it at
install time with a less helpful message. Argument: (list $pack $root).
*/}}
{{- define "skillpod.checkPack" -}}
{{- $pack := index . 0 -}}
{{- $root := index . 1 -}}
{{- $rbac := $pack.spec.rbac | default dict -}}
{{- range $kind, $allowlist := dict "rules" $root.Values.grantPolicy.rules "clusterRules" $root.Values.grantPolicy.clusterRules -}}
{{- range $i, $rule := (get $rbac $kind | default list) -}}
{{- range $group := $rule.apiGroups | default list -}}
{{- range $resource := $rule.resources | default list -}}
{{- range $verb := $rule.verbs -}}
{{- if ne (include "skillpod.allows" (list $allowlist $group $resource $verb)) "true" -}}
{{- fail (printf "SkillPack %s: spec.rbac.%s[%d] asks for %s on %s%s, which grantPolicy.%s does not allow. Add an entry to grantPolicy.%s (see values-kube-operator.yaml for an example), or leave the pack out (skillPacks.exclude / skillPacks.optional)." $pack.metadata.name $kind $i $verb $resource (ternary "" (printf ".%s" $group) (eq $group "")) $kind $kind) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $rule.nonResourceURLs -}}
{{- fail (printf "SkillPack %s: spec.rbac.%s[%d] asks for nonResourceURLs, which are never grantable." $pack.metadata.name $kind $i) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* The SkillPacks to install, as a JSON list: built-in minus skillPacks.exclude, plus skillPacks.optional. */}}
{{- define "skillpod.skillPacks" -}}
{{- $packs := list -}}
{{- $known := list -}}
{{- range $path, $_ := .Files.Glob "skillpacks-source/*.yaml" -}}
{{- range $obj := include "skillpod.readManifests" (list $ $path) | fromJsonArray -}}
{{- $known = append $known $obj.metadata.name -}}
{{- if not (has $obj.metadata.name $.Values.skillPacks.exclude) -}}
{{- $packs = append $packs $obj -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $name := .Values.skillPacks.exclude -}}
{{- if not (has $name $known) -}}
{{- fail (printf "skillPacks.exclude: %q is not a built-in SkillPack (built-in: %s)" $name (join ", " $known)) -}}
{{- end -}}
{{- end -}}
{{- range $name := .Values.skillPacks.optional -}}
{{- $path := printf "skillpacks-source/optional/%s.yaml" $name -}}
{{- if not ($.Files.Get $path) -}}
{{- fail (printf "skillPacks.optional: %q is not an optional SkillPack (see skillpacks/optional/)" $name) -}}
{{- end -}}
{{- range $obj := include "skillpod.readManifests" (list $ $path) | fromJsonArray -}}
{{- $packs = append $packs $obj -}}
{{- end -}}
{{- end -}}
{{- toJson $packs -}}
{{- end }}

{{/* files/ that the chart renders from values instead of as they are, as a JSON list. */}}
{{- define "skillpod.valuesOwnedFiles" -}}
{{- toJson (list "grant-policy.yaml") -}}
{{- end }}

{{/*
The grant policy as the ConfigMap data of files/grant-policy.yaml (operator/src/policy/configmap.ts): one key per
resource (`pods`, `pods_log`, `deployments.apps`; `cluster_` in front for cluster rules), the verbs sorted and
comma-separated, as grantPolicyData(parseGrantPolicyData(…)) writes them. Prints a JSON object.
*/}}
{{- define "skillpod.grantPolicyData" -}}
{{- $data := dict -}}
{{- range $kind, $rules := dict "rules" .Values.grantPolicy.rules "clusterRules" .Values.grantPolicy.clusterRules -}}
{{- range $rule := $rules -}}
{{- range $group := $rule.apiGroups -}}
{{- range $resource := $rule.resources -}}
{{- $key := printf "%s%s%s" (ternary "cluster_" "" (eq $kind "clusterRules")) (replace "/" "_" $resource) (ternary "" (printf ".%s" $group) (eq $group "")) -}}
{{- $verbs := concat (get $data $key | default list) $rule.verbs | uniq | sortAlpha -}}
{{- $_ := set $data $key $verbs -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $strings := dict -}}
{{- range $key, $verbs := $data -}}
{{- $_ := set $strings $key (join "," $verbs) -}}
{{- end -}}
{{- toJson $strings -}}
{{- end }}

{{/*
The grant policy's settings as ConfigMap data (keys with an upper-case letter are settings, never resources), as
parseGrantPolicySettings in operator/src/policy/configmap.ts reads them.
*/}}
{{- define "skillpod.grantPolicySettingsData" -}}
{{- $egress := .Values.grantPolicy.agentEgress | default dict -}}
{{- $out := dict "freeArgumentsWithCredentials" (toString (.Values.grantPolicy.freeArgumentsWithCredentials | default false)) -}}
{{- if hasKey $egress "cidrs" }}{{ $_ := set $out "agentEgressCIDRs" (join "," $egress.cidrs) }}{{ end -}}
{{- if hasKey $egress "ports" }}{{ $_ := set $out "agentEgressPorts" (join "," $egress.ports) }}{{ end -}}
{{- if hasKey $egress "allowSelectors" }}{{ $_ := set $out "agentEgressSelectors" (toString $egress.allowSelectors) }}{{ end -}}
{{- $namespaced := include "skillpod.namespacedUse" . | fromJsonArray -}}
{{- if $namespaced }}{{ $_ := set $out "namespacedUse" (join "," $namespaced) }}{{ end -}}
{{- toJson $out -}}
{{- end }}

{{/* Packs whose `use` a RoleBinding may grant: grantPolicy.namespacedUse and skillPacks.aggregateToEdit, sorted. */}}
{{- define "skillpod.namespacedUse" -}}
{{- concat (.Values.grantPolicy.namespacedUse | default list) (.Values.skillPacks.aggregateToEdit | default list) | uniq | sortAlpha | toJson -}}
{{- end }}

{{/*
The variables of admission policies in files/ that are written from values (the chart's rendering of what
`make install` renders from the grant policy ConfigMap; operator/src/policy/*.ts): {policy: {variable: CEL}}.
*/}}
{{- define "skillpod.policyVariables" -}}
{{- $egress := .Values.grantPolicy.agentEgress | default dict -}}
{{- $quoted := list -}}
{{- range $c := (hasKey $egress "cidrs" | ternary $egress.cidrs (list "0.0.0.0/0" "::/0")) }}{{ $quoted = append $quoted (printf "'%s'" $c) }}{{ end -}}
{{- $ports := list -}}
{{- range $p := (hasKey $egress "ports" | ternary $egress.ports (list 443 80)) }}{{ $ports = append $ports (printf "%d" (int $p)) }}{{ end -}}
{{- $namespaced := list -}}
{{- range $n := include "skillpod.namespacedUse" . | fromJsonArray }}{{ $namespaced = append $namespaced (printf "'%s'" $n) }}{{ end -}}
{{- $allowed := include "skillpod.grantPolicyCel" . -}}
{{- toJson (dict
  "skillpod-skillpack-grant-policy" (dict "allowed" $allowed "freeArgumentsWithCredentials" (toString (.Values.grantPolicy.freeArgumentsWithCredentials | default false)))
  "skillpod-operator-bounds" (dict "allowed" $allowed)
  "skillpod-agentrun-skillpack-use" (dict "namespaced" (printf "[%s]" (join ", " $namespaced)))
  "skillpod-agentrun-egress" (dict "cidrs" (printf "[%s]" (join ", " $quoted)) "ports" (printf "[%s]" (join ", " (uniq $ports))) "selectors" (toString ($egress.allowSelectors | default false)))
) -}}
{{- end }}

{{/* The same data as a CEL map literal, as celAllowlist in operator/src/policy/skillpack-admission.ts writes it. */}}
{{- define "skillpod.grantPolicyCel" -}}
{{- $data := include "skillpod.grantPolicyData" . | fromJson -}}
{{- $entries := list -}}
{{- range $key := keys $data | sortAlpha -}}
{{- $entries = append $entries (printf "'%s': '%s'" $key (get $data $key)) -}}
{{- end -}}
{{- printf "{%s}" (join ", " $entries) -}}
{{- end }}

{{/*
Resources ({requests, limits}) as the JSON the operator's --default-*-resources flags take, every quantity a string
(the operator's settings parser accepts only strings; values may hold `cpu: 1`).
*/}}
{{- define "skillpod.resourcesJson" -}}
{{- $out := dict -}}
{{- range $section, $list := . -}}
{{- $quantities := dict -}}
{{- range $name, $value := $list -}}
{{- $_ := set $quantities $name (toString $value) -}}
{{- end -}}
{{- $_ := set $out $section $quantities -}}
{{- end -}}
{{- toJson $out -}}
{{- end }}
