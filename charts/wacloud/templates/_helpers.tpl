{{/* Chart name, truncated to 63 characters. */}}
{{- define "wacloud.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: "<release>-<chart>" unless the release name already contains the chart name. */}}
{{- define "wacloud.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "<chart>-<version>" for the helm.sh/chart label. */}}
{{- define "wacloud.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "wacloud.labels" -}}
helm.sh/chart: {{ include "wacloud.chart" . }}
{{ include "wacloud.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: wacloud
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of the release. */}}
{{- define "wacloud.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wacloud.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: include "wacloud.componentLabels" (dict "ctx" $ "component" "api") */}}
{{- define "wacloud.componentLabels" -}}
{{ include "wacloud.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Selector labels of one component: include "wacloud.componentSelectorLabels" (dict "ctx" $ "component" "api") */}}
{{- define "wacloud.componentSelectorLabels" -}}
{{ include "wacloud.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels as the operator reads them, "k=v,k=v" (sorted; nil: ""): include "wacloud.labelString" (dict "a" "b") */}}
{{- define "wacloud.labelString" -}}
{{- $m := . | default dict }}
{{- $pairs := list }}
{{- range $k := keys $m | sortAlpha }}{{ $pairs = append $pairs (printf "%s=%s" $k (get $m (toString $k) | toString)) }}{{ end }}
{{- join "," $pairs }}
{{- end }}

{{/* Selector of the release namespace as seen from the instances' namespace: empty when they are the same. */}}
{{- define "wacloud.releaseNamespaceSelector" -}}
{{- ternary "" (printf "kubernetes.io/metadata.name=%s" .Release.Namespace) (eq .Release.Namespace .Values.instances.namespace) }}
{{- end }}

{{/* The operator's environment for the instances' NetworkPolicy and pod security (values under instances.*). */}}
{{- define "wacloud.operator.instancePolicyEnv" -}}
{{- $np := .Values.instances.networkPolicy }}
{{- $eg := $np.egress }}
- name: OPERATOR_POD_SELECTOR
  value: {{ include "wacloud.labelString" (include "wacloud.componentSelectorLabels" (dict "ctx" . "component" "operator") | fromYaml) | quote }}
- name: METRICS_SCRAPER_POD_SELECTOR
  value: {{ include "wacloud.labelString" $np.metricsScraper.podSelector | quote }}
- name: METRICS_SCRAPER_NAMESPACE_SELECTOR
  value: {{ include "wacloud.labelString" $np.metricsScraper.namespaceSelector | quote }}
- name: INSTANCE_EGRESS_POLICY
  value: {{ $eg.enabled | quote }}
- name: EGRESS_DNS_POD_SELECTOR
  value: {{ include "wacloud.labelString" $eg.dns.podSelector | quote }}
- name: EGRESS_DNS_NAMESPACE_SELECTOR
  value: {{ include "wacloud.labelString" $eg.dns.namespaceSelector | quote }}
- name: EGRESS_DNS_CIDRS
  value: {{ join "," $eg.dns.cidrs | quote }}
{{- if .Values.mongodb.enabled }}
# The bundled MongoDB's pods.
- name: EGRESS_MONGODB_POD_SELECTOR
  value: {{ include "wacloud.labelString" (include "wacloud.componentSelectorLabels" (dict "ctx" . "component" "mongodb") | fromYaml) | quote }}
- name: EGRESS_MONGODB_NAMESPACE_SELECTOR
  value: {{ include "wacloud.releaseNamespaceSelector" . | quote }}
- name: EGRESS_MONGODB_CIDRS
  value: ""
- name: EGRESS_MONGODB_PORT
  value: "27017"
{{- else }}
{{- if and $eg.enabled (not $eg.mongodb.cidrs) (not $eg.mongodb.podSelector) (not $eg.mongodb.namespaceSelector) }}
{{- fail "instances.networkPolicy.egress: with an external MongoDB set instances.networkPolicy.egress.mongodb.cidrs (or its podSelector/namespaceSelector), or the instances cannot reach it; or set instances.networkPolicy.egress.enabled=false" }}
{{- end }}
- name: EGRESS_MONGODB_POD_SELECTOR
  value: {{ include "wacloud.labelString" $eg.mongodb.podSelector | quote }}
- name: EGRESS_MONGODB_NAMESPACE_SELECTOR
  value: {{ include "wacloud.labelString" $eg.mongodb.namespaceSelector | quote }}
- name: EGRESS_MONGODB_CIDRS
  value: {{ join "," $eg.mongodb.cidrs | quote }}
- name: EGRESS_MONGODB_PORT
  value: {{ $eg.mongodb.port | quote }}
{{- end }}
- name: EGRESS_INTERNET_CIDRS
  value: {{ join "," $eg.internet.cidrs | quote }}
- name: EGRESS_INTERNET_EXCEPT
  value: {{ join "," (concat $eg.internet.except $eg.internet.clusterCidrs) | quote }}
- name: EGRESS_INTERNET_PORTS
  value: {{ join "," $eg.internet.ports | quote }}
- name: EGRESS_EXTRA_RULES
  value: {{ concat $eg.extraRules (list (include "wacloud.instances.apiEgressRule" . | fromYaml)) | toJson | quote }}
- name: INSTANCE_SECCOMP_PROFILE
  value: {{ .Values.instances.seccompProfile | toJson | quote }}
- name: INSTANCE_CHROMIUM_SANDBOX
  value: {{ .Values.instances.chromiumSandbox | quote }}
- name: INSTANCE_EXTRA_ENV
  value: {{ .Values.instances.extraEnv | toJson | quote }}
{{- end }}

{{/* The instances' egress to the api pods on its port: they report their events to its ingest (docs/team.md). */}}
{{- define "wacloud.instances.apiEgressRule" -}}
to:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: {{ .Release.Namespace }}
    podSelector:
      matchLabels:
        {{- include "wacloud.componentSelectorLabels" (dict "ctx" . "component" "api") | nindent 8 }}
ports:
  - protocol: TCP
    port: {{ .Values.api.port }}
{{- end }}

{{/* Name of one component's resources: include "wacloud.componentName" (dict "ctx" $ "component" "api") */}}
{{- define "wacloud.componentName" -}}
{{- printf "%s-%s" (include "wacloud.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "repository:tag" of an image; the tag defaults to the chart's appVersion: include "wacloud.image" (dict "ctx" $ "image" .Values.api.image) */}}
{{- define "wacloud.image" -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion (toString .image.tag)) }}
{{- end }}

{{/* ServiceAccount names. */}}
{{- define "wacloud.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "wacloud.componentName" (dict "ctx" . "component" "operator")) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "wacloud.api.serviceAccountName" -}}
{{- if .Values.api.serviceAccount.create }}
{{- default (include "wacloud.componentName" (dict "ctx" . "component" "api")) .Values.api.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.api.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of the Lease of the operator's leader election. */}}
{{- define "wacloud.operator.leaseName" -}}
{{- default (include "wacloud.componentName" (dict "ctx" . "component" "operator")) .Values.operator.leaderElection.leaseName }}
{{- end }}

{{/*
A value the chart generates, kept across upgrades and reinstalls: the base64 value of `key` in the Secret `name` of the
release namespace when it exists (lookup; `helm template` and client-side dry runs see no cluster and generate anew),
else `length` random alphanumerics, base64-encoded. Every generated secret value goes through here.
include "wacloud.keptRandom" (dict "ctx" $ "name" "wacloud-jwt" "key" "jwt-secret" "length" 64)
*/}}
{{- define "wacloud.keptRandom" -}}
{{- $existing := (lookup "v1" "Secret" .ctx.Release.Namespace .name).data | default dict }}
{{- index $existing .key | default (randAlphaNum .length | b64enc) }}
{{- end }}

{{/* Secret and key of the api's JWT signing key. */}}
{{- define "wacloud.jwt.secretName" -}}
{{- default (include "wacloud.componentName" (dict "ctx" . "component" "jwt")) .Values.api.jwt.existingSecret }}
{{- end }}

{{- define "wacloud.jwt.secretKey" -}}
{{- if .Values.api.jwt.existingSecret }}{{ .Values.api.jwt.existingSecretKey }}{{ else }}jwt-secret{{ end }}
{{- end }}

{{/* Secret and key of the MongoDB URI (the bundled server's or the external one's). */}}
{{- define "wacloud.mongodb.uriSecretName" -}}
{{- if .Values.mongodb.enabled }}
{{- include "wacloud.componentName" (dict "ctx" . "component" "mongodb") }}
{{- else if .Values.mongodb.external.existingSecret }}
{{- .Values.mongodb.external.existingSecret }}
{{- else }}
{{- fail "MongoDB: set mongodb.enabled=true or mongodb.external.existingSecret (a Secret holding a mongodb:// URI)" }}
{{- end }}
{{- end }}

{{- define "wacloud.mongodb.uriSecretKey" -}}
{{- if .Values.mongodb.enabled }}mongodb-uri{{ else }}{{ .Values.mongodb.external.existingSecretKey }}{{ end }}
{{- end }}

{{/* Environment of the api container and the billing job (they share the configuration). */}}
{{- define "wacloud.api.env" -}}
- name: PORT
  value: {{ .Values.api.port | quote }}
- name: METRICS_PORT
  value: {{ .Values.api.metricsPort | quote }}
- name: PROVIDER
  value: kubernetes
- name: K8S_NAMESPACE
  value: {{ .Values.instances.namespace | quote }}
- name: ENGINE
  value: {{ .Values.instances.engine | quote }}
{{- with .Values.instances.simnetUrl }}
- name: SIMNET_URL
  value: {{ . | quote }}
{{- end }}
- name: PRICE_MONTHLY_MINOR
  value: {{ .Values.api.priceMonthlyMinor | quote }}
- name: CURRENCY
  value: {{ .Values.api.currency | quote }}
- name: MAX_DEPOSIT_MINOR
  value: {{ .Values.api.maxDepositMinor | quote }}
- name: MONGODB_URI
  valueFrom:
    secretKeyRef:
      name: {{ include "wacloud.mongodb.uriSecretName" . }}
      key: {{ include "wacloud.mongodb.uriSecretKey" . }}
- name: JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "wacloud.jwt.secretName" . }}
      key: {{ include "wacloud.jwt.secretKey" . }}
- name: JWT_ISSUER
  value: {{ .Values.api.jwt.issuer | quote }}
# Where instances deliver their events (the api Service; docs/team.md).
- name: API_EVENTS_URL
  value: {{ .Values.api.eventsUrl | default (printf "http://%s.%s.svc:%v" (include "wacloud.componentName" (dict "ctx" . "component" "api")) .Release.Namespace .Values.api.service.port) | quote }}
- name: JWT_TTL_S
  value: {{ .Values.api.jwt.ttlSeconds | quote }}
- name: TRUST_PROXY_HOPS
  value: {{ .Values.api.trustProxyHops | quote }}
- name: CORS_ORIGINS
  value: {{ .Values.api.corsOrigins | quote }}
- name: DASHBOARD_DIR
  value: {{ ternary .Values.dashboard.apiDir "" (eq .Values.dashboard.mode "api") | quote }}
- name: LOG_LEVEL
  value: {{ .Values.api.logLevel | quote }}
{{- with .Values.api.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
