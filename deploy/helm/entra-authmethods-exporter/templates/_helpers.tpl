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
