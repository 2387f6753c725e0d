{{/* Names and labels. */}}
{{- define "okienko.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "okienko.fullname" -}}
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

{{- define "okienko.selectorLabels" -}}
app.kubernetes.io/name: {{ include "okienko.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "okienko.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "okienko.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "okienko.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "okienko.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "okienko.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Paths inside the container. */}}
{{- define "okienko.dataDir" -}}/var/lib/okienko{{- end }}
{{- define "okienko.tenantsDir" -}}/etc/okienko/policies{{- end }}
{{- define "okienko.demoTenantsDir" -}}/usr/share/okienko/policies{{- end }}

{{/*
The cities' files as a JSON object: path in OKIENKO_POLICIES (<slug>/tenant.toml,
<slug>/tests/x.toml, …) → content. From files/tenants/ of the chart and from tenants.inline;
an inline file replaces the chart's file of the same path.
*/}}
{{- define "okienko.tenantFiles" -}}
{{- $files := dict }}
{{- if .Values.tenants.fromChartFiles }}
{{- range $path, $_ := .Files.Glob "files/tenants/*/{tenant.toml,policy.rhai,policy-settings.toml,tests/*.toml}" }}
{{- $_ := set $files (trimPrefix "files/tenants/" $path) ($.Files.Get $path) }}
{{- end }}
{{- end }}
{{- range $slug, $city := .Values.tenants.inline }}
{{- if not (hasKey $city "tenant.toml") }}
{{- fail (printf "tenants.inline.%s: a city needs its tenant.toml" $slug) }}
{{- end }}
{{- range $path, $content := $city }}
{{- $_ := set $files (printf "%s/%s" $slug $path) $content }}
{{- end }}
{{- end }}
{{- toJson $files }}
{{- end }}

{{/* A ConfigMap key for a path: keys may not hold "/" (a__tests__b.toml). */}}
{{- define "okienko.tenantKey" -}}
{{- . | replace "/" "__" }}
{{- end }}

{{/* The variables that may only come from a Secret. */}}
{{- define "okienko.secretVariables" -}}
DATABASE_URL SMTP_URL OKIENKO_SECRET SMS_HTTP_TOKEN
{{- end }}

{{/* An env entry read from an existing Secret: name, ref ({name, key}). */}}
{{- define "okienko.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "%s: the Secret's name" .name) .ref.name | quote }}
      key: {{ required (printf "%s: the key in the Secret" .name) .ref.key | quote }}
{{- end }}

{{/* The public URL: publicUrl, else the first ingress host. */}}
{{- define "okienko.publicUrl" -}}
{{- if .Values.publicUrl }}
{{- .Values.publicUrl | trimSuffix "/" }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- $tls := false }}
{{- range .Values.ingress.tls }}
{{- if has $host .hosts }}{{ $tls = true }}{{ end }}
{{- end }}
{{- printf "%s://%s" (ternary "https" "http" $tls) $host }}
{{- end }}
{{- end }}

{{/*
The server's environment. Everything secret comes by secretKeyRef from existing Secrets.
*/}}
{{- define "okienko.env" -}}
- name: OKIENKO_LISTEN
  value: {{ printf "0.0.0.0:%d" (int .Values.containerPort) | quote }}
{{- if .Values.metrics.enabled }}
- name: OKIENKO_METRICS_LISTEN
  value: {{ printf "0.0.0.0:%d" (int .Values.metrics.port) | quote }}
{{- end }}
- name: OKIENKO_DATA_DIR
  value: {{ include "okienko.dataDir" . | quote }}
- name: OKIENKO_POLICIES
  value: {{ ternary (include "okienko.demoTenantsDir" .) (include "okienko.tenantsDir" .) .Values.tenants.demo | quote }}
{{- with (include "okienko.publicUrl" .) }}
- name: OKIENKO_PUBLIC_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.mail.from }}
- name: OKIENKO_MAIL_FROM
  value: {{ . | quote }}
{{- end }}
- name: SMS_PROVIDER
  value: {{ .Values.sms.provider | quote }}
{{- if eq .Values.sms.provider "http" }}
- name: SMS_HTTP_URL
  value: {{ required "sms.httpUrl is required with sms.provider: http" .Values.sms.httpUrl | quote }}
{{- end }}
{{- with .Values.sms.sender }}
- name: SMS_SENDER
  value: {{ . | quote }}
{{- end }}
{{- with .Values.trustedProxies }}
- name: OKIENKO_TRUSTED_PROXIES
  value: {{ join "," . | quote }}
{{- end }}
{{- with .Values.requestTimeoutMs }}
- name: OKIENKO_REQUEST_TIMEOUT_MS
  value: {{ . | int | toString | quote }}
{{- end }}
- name: RUST_LOG
  value: {{ .Values.logLevel | quote }}
{{ include "okienko.secretEnv" (dict "name" "DATABASE_URL" "ref" .Values.secrets.databaseUrl) }}
{{ include "okienko.secretEnv" (dict "name" "OKIENKO_SECRET" "ref" .Values.secrets.okienkoSecret) }}
{{- with .Values.secrets.smtpUrl }}
{{ include "okienko.secretEnv" (dict "name" "SMTP_URL" "ref" .) }}
{{- end }}
{{- with .Values.secrets.smsHttpToken }}
{{ include "okienko.secretEnv" (dict "name" "SMS_HTTP_TOKEN" "ref" .) }}
{{- end }}
{{- $secretOnly := splitList " " (include "okienko.secretVariables" .) }}
{{- range .Values.extraEnv }}
{{- if and (has .name $secretOnly) (not .valueFrom) }}
{{- fail (printf "extraEnv: %s may only come from a Secret (secrets.*)" .name) }}
{{- end }}
- {{ toYaml . | nindent 2 | trim }}
{{- end }}
{{- end }}

{{- define "okienko.envFrom" -}}
{{- range .Values.secrets.envFrom }}
- secretRef:
    name: {{ . | quote }}
{{- end }}
{{- end }}

{{/* The volumes every okienko container writes to; the root file system is read-only. */}}
{{- define "okienko.writableVolumes" -}}
- name: data
  emptyDir:
    sizeLimit: {{ .Values.dataDir.sizeLimit }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}

{{- define "okienko.writableMounts" -}}
- name: data
  mountPath: {{ include "okienko.dataDir" . }}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* The tenants ConfigMap as a volume: each key at its path under OKIENKO_POLICIES. */}}
{{- define "okienko.tenantsVolume" -}}
{{- $files := include "okienko.tenantFiles" . | fromJson }}
{{- if and $files (not .Values.tenants.demo) }}
- name: tenants
  configMap:
    name: {{ include "okienko.fullname" . }}-tenants
    items:
{{- range $path := keys $files | sortAlpha }}
      - key: {{ include "okienko.tenantKey" $path }}
        path: {{ $path }}
{{- end }}
{{- end }}
{{- end }}

{{- define "okienko.tenantsMount" -}}
{{- $files := include "okienko.tenantFiles" . | fromJson }}
{{- if and $files (not .Values.tenants.demo) }}
- name: tenants
  mountPath: {{ include "okienko.tenantsDir" . }}
  readOnly: true
{{- end }}
{{- end }}
