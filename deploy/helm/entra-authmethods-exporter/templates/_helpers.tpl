{{/*
The chart's name, or nameOverride.
*/}}
{{- define "entra-authmethods-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified name of the objects: fullnameOverride, or the release name
when it already contains the chart's name, or <release>-<name>; at most 63
characters (DNS label).
*/}}
{{- define "entra-authmethods-exporter.fullname" -}}
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

{{/*
The helm.sh/chart label: <name>-<version>.
*/}}
{{- define "entra-authmethods-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The namespace of the release's objects.
*/}}
{{- define "entra-authmethods-exporter.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "entra-authmethods-exporter.labels" -}}
helm.sh/chart: {{ include "entra-authmethods-exporter.chart" . }}
{{ include "entra-authmethods-exporter.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: entra-authmethods-exporter
{{- end }}

{{/*
Labels that select the exporter's pod (Deployment selector, Service,
ServiceMonitor): never change them, a Deployment's selector is immutable.
*/}}
{{- define "entra-authmethods-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "entra-authmethods-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The service account the pod runs as.
*/}}
{{- define "entra-authmethods-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "entra-authmethods-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image: repository@digest when a digest is given, else repository:tag,
the tag defaulting to the chart's appVersion.
*/}}
{{- define "entra-authmethods-exporter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) }}
{{- end }}
{{- end }}

{{/*
The Secret that holds config.yaml: existingConfigSecret, or the chart's.
*/}}
{{- define "entra-authmethods-exporter.configSecretName" -}}
{{- if .Values.existingConfigSecret }}
{{- .Values.existingConfigSecret }}
{{- else }}
{{- printf "%s-config" (include "entra-authmethods-exporter.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}
{{- end }}

{{/*
The configuration file's text: config as given when it is a string, else as
YAML. Not passed through tpl: it may hold secrets and is no template.
*/}}
{{- define "entra-authmethods-exporter.config" -}}
{{- if kindIs "string" .Values.config }}
{{- .Values.config }}
{{- else }}
{{- toYaml (required "set config (the exporter's configuration) or existingConfigSecret" .Values.config) }}
{{- end }}
{{- end }}

{{/*
The StatefulSet's name, sharded: at most 52 characters, since its pods'
controller-revision-hash label is <name>-<10 characters> and a label value
holds 63. Its pods are <name>-0, <name>-1, ...
*/}}
{{- define "entra-authmethods-exporter.statefulSetName" -}}
{{- include "entra-authmethods-exporter.fullname" . | trunc 52 | trimSuffix "-" }}
{{- end }}

{{/*
sharding.totalShards, checked: a whole number of at least 1.
*/}}
{{- define "entra-authmethods-exporter.totalShards" -}}
{{- $n := toString .Values.sharding.totalShards }}
{{- if or (not (regexMatch "^[0-9]+$" $n)) (lt (atoi $n) 1) }}
{{- fail (printf "sharding.totalShards must be a whole number of at least 1 (the number of shards, one pod each), got %q" $n) }}
{{- end }}
{{- atoi $n }}
{{- end }}

{{/*
"true" when the cluster serves the Prometheus Operator's API,
monitoring.coreos.com/v1 (helm install and upgrade ask the cluster; helm
template knows it only from --api-versions), else "".
*/}}
{{- define "entra-authmethods-exporter.monitoringAPI" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}true{{ end }}
{{- end }}

{{/*
"true" when the ServiceMonitor is rendered: enabled, and the API is there or
force is set.
*/}}
{{- define "entra-authmethods-exporter.serviceMonitor" -}}
{{- if and .Values.serviceMonitor.enabled (or .Values.serviceMonitor.force (include "entra-authmethods-exporter.monitoringAPI" .)) }}true{{ end }}
{{- end }}

{{/*
"true" when the PrometheusRule is rendered, as for the ServiceMonitor.
*/}}
{{- define "entra-authmethods-exporter.prometheusRule" -}}
{{- if and .Values.prometheusRule.enabled (or .Values.prometheusRule.force (include "entra-authmethods-exporter.monitoringAPI" .)) }}true{{ end }}
{{- end }}

{{/*
The directory webConfig's Secret is mounted at.
*/}}
{{- define "entra-authmethods-exporter.webConfigDir" -}}
/etc/entra-authmethods-exporter-web
{{- end }}

{{/*
A probe (dict "probe" <the value> "root" $) adapted to webConfig: with
basicAuth its httpGet becomes a tcpSocket check of the port (the kubelet
sends no credentials), with tls only its httpGet gets scheme HTTPS (the
kubelet does not verify the certificate). Other probes pass unchanged.
*/}}
{{- define "entra-authmethods-exporter.probe" -}}
{{- $p := deepCopy .probe }}
{{- $web := .root.Values.webConfig }}
{{- if and $web.existingSecret $p.httpGet }}
{{- if $web.basicAuth }}
{{- $_ := unset $p "httpGet" }}
{{- $_ := set $p "tcpSocket" (dict "port" "http") }}
{{- else if and $web.tls (not $p.httpGet.scheme) }}
{{- $_ := set $p.httpGet "scheme" "HTTPS" }}
{{- end }}
{{- end }}
{{- toYaml $p }}
{{- end }}

{{/*
The exporter's pod template (metadata and spec), shared by the Deployment
and, with sharding.enabled, the StatefulSet, so that both run the same pod.
*/}}
{{- define "entra-authmethods-exporter.podTemplate" -}}
metadata:
  labels:
    {{- include "entra-authmethods-exporter.selectorLabels" . | nindent 4 }}
    {{- if .Values.workloadIdentity.enabled }}
    azure.workload.identity/use: "true"
    {{- end }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- if or .Values.podAnnotations (not .Values.existingConfigSecret) }}
  annotations:
    {{- if not .Values.existingConfigSecret }}
    # A change of config rolls the pods on helm upgrade.
    checksum/config: {{ include "entra-authmethods-exporter.config" . | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
spec:
  serviceAccountName: {{ include "entra-authmethods-exporter.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.automountServiceAccountToken }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: exporter
      image: {{ include "entra-authmethods-exporter.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - --config.file=/etc/entra-authmethods-exporter/config.yaml
        {{- with .Values.configAutoReloadInterval }}
        - --config.auto-reload-interval={{ . }}
        {{- end }}
        {{- if .Values.sharding.enabled }}
        # Pod <name>-N of the StatefulSet polls shard N.
        - --total-shards={{ include "entra-authmethods-exporter.totalShards" . }}
        - --shard.from-hostname
        {{- end }}
        {{- with .Values.webConfig.existingSecret }}
        # exporter-toolkit's TLS and basic auth (webConfig).
        - --web.config.file={{ include "entra-authmethods-exporter.webConfigDir" $ }}/{{ $.Values.webConfig.key }}
        {{- end }}
        {{- range .Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      {{- with .Values.extraEnv }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.extraEnvFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        - name: http
          containerPort: 9871
          protocol: TCP
      {{- with .Values.livenessProbe }}
      livenessProbe:
        {{- include "entra-authmethods-exporter.probe" (dict "probe" . "root" $) | nindent 8 }}
      {{- end }}
      {{- with .Values.readinessProbe }}
      readinessProbe:
        {{- include "entra-authmethods-exporter.probe" (dict "probe" . "root" $) | nindent 8 }}
      {{- end }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        # The directory, not a subPath: only then does an edit of the
        # Secret reach the file (see configAutoReloadInterval).
        - name: config
          mountPath: /etc/entra-authmethods-exporter
          readOnly: true
        {{- range .Values.extraSecretMounts }}
        - name: {{ required "extraSecretMounts[].name is required" .name }}
          mountPath: {{ required "extraSecretMounts[].mountPath is required" .mountPath }}
          readOnly: {{ if hasKey . "readOnly" }}{{ .readOnly }}{{ else }}true{{ end }}
        {{- end }}
        {{- if .Values.webConfig.existingSecret }}
        - name: web-config
          mountPath: {{ include "entra-authmethods-exporter.webConfigDir" . }}
          readOnly: true
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      secret:
        secretName: {{ include "entra-authmethods-exporter.configSecretName" . }}
    {{- range .Values.extraSecretMounts }}
    - name: {{ .name }}
      secret:
        secretName: {{ required "extraSecretMounts[].secretName is required" .secretName }}
        {{- if hasKey . "defaultMode" }}
        defaultMode: {{ .defaultMode }}
        {{- end }}
        {{- with .items }}
        items:
          {{- toYaml . | nindent 10 }}
        {{- end }}
    {{- end }}
    {{- with .Values.webConfig.existingSecret }}
    - name: web-config
      secret:
        secretName: {{ . }}
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- range . }}
    {{- $c := deepCopy . }}
    {{- if not $c.labelSelector }}
    {{- /* Without a labelSelector a constraint counts no pod: spread this release's. */}}
    {{- $_ := set $c "labelSelector" (dict "matchLabels" (include "entra-authmethods-exporter.selectorLabels" $ | fromYaml)) }}
    {{- end }}
    {{- toYaml (list $c) | nindent 4 }}
    {{- end }}
  {{- end }}
{{- end }}
