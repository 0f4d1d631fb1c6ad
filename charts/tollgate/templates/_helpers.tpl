{{/* Names, labels and small pieces shared by every template. */}}

{{- define "tollgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every resource name: the release name, with the chart name unless it already has it. */}}
{{- define "tollgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tollgate.controller.fullname" -}}
{{- printf "%s-controller" (include "tollgate.fullname" .) }}
{{- end }}

{{- define "tollgate.dataplane.fullname" -}}
{{- printf "%s-dataplane" (include "tollgate.fullname" .) }}
{{- end }}

{{- define "tollgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "tollgate.labels" -}}
helm.sh/chart: {{ include "tollgate.chart" . }}
app.kubernetes.io/name: {{ include "tollgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tollgate
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "controller"). */}}
{{- define "tollgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tollgate.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of one component's resources: (dict "root" $ "component" "controller"). */}}
{{- define "tollgate.componentLabels" -}}
{{ include "tollgate.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* repository:tag or repository@digest; the tag defaults to the chart's appVersion. */}}
{{- define "tollgate.image" -}}
{{- $image := .image }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default .root.Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{- define "tollgate.controller.serviceAccountName" -}}
{{- default (include "tollgate.controller.fullname" .) .Values.controller.serviceAccount.name }}
{{- end }}

{{- define "tollgate.dataplane.serviceAccountName" -}}
{{- default (include "tollgate.dataplane.fullname" .) .Values.dataplane.serviceAccount.name }}
{{- end }}

{{- define "tollgate.controller.leaseName" -}}
{{- default (include "tollgate.controller.fullname" .) .Values.controller.leaderElection.leaseName }}
{{- end }}

{{/* Replica report Leases: one per controller replica, plus the rollout's surge Pod, plus one killed
Pod whose report has not expired yet. The Role grants exactly these names. */}}
{{- define "tollgate.controller.replicaReportSlots" -}}
{{- add (int .Values.controller.replicaCount) 2 }}
{{- end }}

{{/* In-cluster DNS name of the controller Service: the address data planes dial and the name its
serving certificate carries. */}}
{{- define "tollgate.controller.host" -}}
{{- printf "%s.%s.svc" (include "tollgate.controller.fullname" .) .Release.Namespace }}
{{- end }}

{{- define "tollgate.controller.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "tollgate.controller.fullname" .)) .Values.mtls.controllerSecretName }}
{{- end }}

{{- define "tollgate.dataplane.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "tollgate.dataplane.fullname" .)) .Values.mtls.dataplaneSecretName }}
{{- end }}

{{/* host:port for a listener inside the pod. */}}
{{- define "tollgate.listen" -}}
{{- printf "%s:%d" .root.Values.bindAddress (int .port) }}
{{- end }}

{{/* The pod's scheduling fields shared by both components: (dict "root" $ "component" "x" "values" .Values.x). */}}
{{- define "tollgate.scheduling" -}}
{{- $values := .values }}
{{- with $values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml $values.topologySpreadConstraints | nindent 2 }}
{{- else if $values.topologySpread.enabled }}
topologySpreadConstraints:
  {{- range list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
  - maxSkew: 1
    topologyKey: {{ . }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "tollgate.selectorLabels" (dict "root" $.root "component" $.component) | nindent 8 }}
    matchLabelKeys:
      - pod-template-hash
  {{- end }}
{{- end }}
{{- end }}

{{/* Probes on the admin port: (dict "probes" .Values.x.probes "port" "admin"). */}}
{{- define "tollgate.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  {{- toYaml .probes.startup | nindent 2 }}
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  {{- toYaml .probes.liveness | nindent 2 }}
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ .port }}
  {{- toYaml .probes.readiness | nindent 2 }}
{{- end }}

{{/* A PodDisruptionBudget spec body: (dict "values" .Values.x). */}}
{{- define "tollgate.pdbBudget" -}}
{{- $pdb := .values.podDisruptionBudget }}
{{- if hasKey $pdb "minAvailable" }}
minAvailable: {{ $pdb.minAvailable }}
{{- else }}
maxUnavailable: {{ $pdb.maxUnavailable }}
{{- end }}
{{- end }}

{{/* A ServiceMonitor scraping /metrics on a component's admin port:
(dict "root" $ "component" "x" "name" "..." "values" .Values.x). */}}
{{- define "tollgate.serviceMonitor" -}}
{{- $monitor := .values.serviceMonitor }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "tollgate.componentLabels" (dict "root" .root "component" .component) | nindent 4 }}
    {{- with $monitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "tollgate.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
      tollgate.dev/metrics: "true"
  namespaceSelector:
    matchNames:
      - {{ .root.Release.Namespace }}
  endpoints:
    - port: admin
      path: /metrics
      scheme: http
      interval: {{ $monitor.interval }}
      scrapeTimeout: {{ $monitor.scrapeTimeout }}
      {{- with $monitor.relabelings }}
      relabelings:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $monitor.metricRelabelings }}
      metricRelabelings:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{/* A container's env: the chart's variables, except those extraEnv names again, then extraEnv
(so extraEnv can override any of them without a duplicate): (dict "base" (list ...) "extra" .Values.x.extraEnv). */}}
{{- define "tollgate.env" -}}
{{- $overridden := list }}
{{- range .extra }}
{{- $overridden = append $overridden .name }}
{{- end }}
{{- $env := list }}
{{- range .base }}
{{- if not (has .name $overridden) }}
{{- $env = append $env . }}
{{- end }}
{{- end }}
{{- toYaml (concat $env .extra) }}
{{- end }}

