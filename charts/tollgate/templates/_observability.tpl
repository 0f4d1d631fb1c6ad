{{/*
OTEL_* environment for one component (a YAML list), from the `tracing` values. Empty when tracing
is off: the components then register no tracer at all.
*/}}
{{- define "tollgate.tracingEnv" -}}
{{- $tracing := .root.Values.tracing }}
{{- $env := list }}
{{- if $tracing.enabled }}
{{- if not $tracing.endpoint }}
{{- fail "tracing.enabled needs tracing.endpoint (the OTLP collector, e.g. http://otel-collector.observability:4318)" }}
{{- end }}
{{- $env = append $env (dict "name" "OTEL_EXPORTER_OTLP_ENDPOINT" "value" $tracing.endpoint) }}
{{- $env = append $env (dict "name" "OTEL_EXPORTER_OTLP_PROTOCOL" "value" $tracing.protocol) }}
{{- $env = append $env (dict "name" "OTEL_SERVICE_NAME" "value" .service) }}
{{- $env = append $env (dict "name" "OTEL_TRACES_SAMPLER" "value" "parentbased_traceidratio") }}
{{- $env = append $env (dict "name" "OTEL_TRACES_SAMPLER_ARG" "value" (toString $tracing.samplingRatio)) }}
{{- $attributes := list (printf "k8s.namespace.name=%s" .root.Release.Namespace) }}
{{- range $key, $value := $tracing.resourceAttributes }}
{{- $attributes = append $attributes (printf "%s=%s" $key (toString $value)) }}
{{- end }}
{{- $env = append $env (dict "name" "OTEL_RESOURCE_ATTRIBUTES" "value" (join "," $attributes)) }}
{{- end }}
{{- toYaml $env }}
{{- end }}

{{/*
Access-log environment of the data plane, from `dataplane.accessLog`.
*/}}
{{- define "tollgate.accessLogEnv" -}}
{{- $log := .Values.dataplane.accessLog }}
{{- $env := list (dict "name" "TOLLGATE_ACCESS_LOG_SAMPLE" "value" (toString $log.sampleRatio)) }}
{{- with $log.excludeRoutes }}
{{- $env = append $env (dict "name" "TOLLGATE_ACCESS_LOG_EXCLUDE" "value" (join "," .)) }}
{{- end }}
{{- toYaml $env }}
{{- end }}
