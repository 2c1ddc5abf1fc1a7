{{/* The chart's name. */}}
{{- define "alongside.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every resource name: the release name, with the chart name unless it already has it. */}}
{{- define "alongside.fullname" -}}
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

{{/* Labels on every resource. */}}
{{- define "alongside.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "alongside.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: alongside
{{- end }}

{{/* Selector labels of one component: never change them, selectors are immutable. Call with (list $ "people"). */}}
{{- define "alongside.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "alongside.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* All labels of one component. Call with (list $ "people"). */}}
{{- define "alongside.componentLabels" -}}
{{ include "alongside.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* The image reference: a digest wins over a tag. */}}
{{- define "alongside.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret holding keys and passwords. */}}
{{- define "alongside.secretName" -}}
{{- default (printf "%s-secrets" (include "alongside.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{/* Whether Kafka uses SASL. */}}
{{- define "alongside.kafkaSasl" -}}
{{- if hasPrefix "sasl_" .Values.kafka.securityProtocol }}true{{ end }}
{{- end }}

{{/* One service's settings: serviceDefaults overlaid with its services.<name> entry. Call with (list $ "people"); returns YAML. */}}
{{- define "alongside.serviceValues" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- toYaml (mergeOverwrite (deepCopy $root.Values.serviceDefaults) (deepCopy (index $root.Values.services $name))) }}
{{- end }}

{{/* The gateway's public URL. */}}
{{- define "alongside.publicUrl" -}}
{{- default (printf "https://%s" .Values.ingress.host) .Values.gateway.publicUrl }}
{{- end }}

{{/* A service's in-cluster address. Call with (list $ "people"). */}}
{{- define "alongside.serviceUrl" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- printf "http://%s-%s:%v" (include "alongside.fullname" $root) $name (index $root.Values.services $name).port }}
{{- end }}

{{/* The service's config file (TOML), layered by the binary over its embedded defaults. Call with (list $ "people"). */}}
{{- define "alongside.configToml" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- $svc := include "alongside.serviceValues" . | fromYaml }}
{{- $v := $root.Values -}}
# alongside-{{ $name }}: rendered by the Helm chart. Secrets come from the environment.
{{- if eq $svc.protocol "http" }}
[http]
listen = "0.0.0.0:{{ $svc.port }}"
public_url = {{ include "alongside.publicUrl" $root | quote }}
assets_dir = "/opt/alongside/web/nhsuk"

[services]
{{- range $other, $entry := $v.services }}
{{- if eq $entry.protocol "grpc" }}
{{ $other }} = {{ include "alongside.serviceUrl" (list $root $other) | quote }}
{{- end }}
{{- end }}

[session]
ttl_minutes = {{ $v.gateway.sessionTtlMinutes }}

[limits]
{{- with $v.gateway.limits }}
account_failures = {{ .accountFailures }}
address_failures = {{ .addressFailures }}
max_delay_seconds = {{ .maxDelaySeconds }}
failure_window_seconds = {{ .failureWindowSeconds }}
public_posts_per_minute = {{ .publicPostsPerMinute }}
{{- if .clientAddressHeader }}
client_address_header = {{ .clientAddressHeader | quote }}
{{- end }}
hashing_threads = {{ .hashingThreads }}
{{- end }}
{{- else }}
[grpc]
listen = "0.0.0.0:{{ $svc.port }}"

[kafka]
brokers = {{ $v.kafka.brokers | quote }}
security_protocol = {{ $v.kafka.securityProtocol | quote }}
{{- if include "alongside.kafkaSasl" $root }}
sasl_mechanism = {{ $v.kafka.sasl.mechanism | quote }}
sasl_username = {{ $v.kafka.sasl.username | quote }}
{{- end }}
{{- if $v.kafka.tls.caSecret }}
ssl_ca_location = "/etc/alongside-kafka-ca/ca.crt"
{{- end }}
partitions = {{ $v.kafka.topics.partitions }}
replication_factor = {{ $v.kafka.topics.replicationFactor }}
# Topics are provisioned once per release (kafka.topics.provision), not by each pod.
create_topics = false
{{- end }}

[database]
max_connections = {{ $v.database.maxConnections }}
# The release's migration Job applies migrations; pods wait for the schema.
migrate_on_start = false

[auth]
token_ttl_seconds = {{ $v.auth.tokenTtlSeconds }}

[telemetry]
log_format = {{ $v.telemetry.logFormat | quote }}
log_level = {{ $svc.logLevel | quote }}
{{- if $v.metrics.enabled }}

[metrics]
listen = "0.0.0.0:{{ $v.metrics.port }}"
{{- end }}
{{- end }}

{{/* Environment shared by a service's containers: secrets and OpenTelemetry. Call with (list $ "people"). */}}
{{- define "alongside.env" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- $svc := include "alongside.serviceValues" . | fromYaml }}
{{- $v := $root.Values }}
- name: ALONGSIDE_CONFIG
  value: /etc/alongside/config.toml
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "alongside.secretName" $root }}
      key: database-url-{{ $name }}
- name: ALONGSIDE_AUTH__INTERNAL_TOKEN_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "alongside.secretName" $root }}
      key: internal-token-key
{{- if and (eq $svc.protocol "grpc") (include "alongside.kafkaSasl" $root) }}
- name: ALONGSIDE_KAFKA__SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "alongside.secretName" $root }}
      key: kafka-sasl-password
{{- end }}
{{- if eq $name "people" }}
- name: ALONGSIDE_BANK_DETAILS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "alongside.secretName" $root }}
      key: bank-details-key
{{- end }}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: OTEL_SERVICE_NAME
  value: {{ $name }}
{{- if $v.telemetry.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $v.telemetry.otlpEndpoint | quote }}
{{- end }}
- name: OTEL_TRACES_SAMPLER
  value: parentbased_traceidratio
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $v.telemetry.samplingRatio | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ $attrs := list (printf "service.namespace=%s" $root.Release.Namespace) "k8s.pod.name=$(POD_NAME)" (printf "service.version=%s" $root.Chart.AppVersion) }}{{ range $k, $val := $v.telemetry.resourceAttributes }}{{ $attrs = append $attrs (printf "%s=%s" $k $val) }}{{ end }}{{ join "," $attrs | quote }}
{{- with $svc.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volumes and mounts shared by a service's containers. */}}
{{- define "alongside.volumeMounts" -}}
- name: config
  mountPath: /etc/alongside
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  mountPath: /etc/alongside-kafka-ca
  readOnly: true
{{- end }}
{{- end }}

{{- define "alongside.volumes" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
- name: config
  configMap:
    name: {{ include "alongside.fullname" $root }}-{{ $name }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if $root.Values.kafka.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ $root.Values.kafka.tls.caSecret }}
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- end }}
