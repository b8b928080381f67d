{{- define "secretsync.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "secretsync.serviceAccountName" -}}
{{- default (include "secretsync.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "secretsync.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "secretsync.labels" -}}
{{ include "secretsync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The operator's permissions on the resources it syncs (the same list as config/rbac/rbac.yaml; a test compares them). */}}
{{- define "secretsync.syncRules" -}}
- apiGroups: [secretsync.dev]
  resources: [externalsecrets, secretstores{{ if not .Values.watchNamespace }}, clustersecretstores, clusterexternalsecrets{{ end }}, pushsecrets]
  verbs: [get, list, watch]
- apiGroups: [secretsync.dev]
  resources: [externalsecrets/status, secretstores/status{{ if not .Values.watchNamespace }}, clustersecretstores/status, clusterexternalsecrets/status{{ end }}, pushsecrets/status]
  verbs: [patch]
# Generators are read when an ExternalSecret or PushSecret uses one (never listed or watched).
- apiGroups: [secretsync.dev]
  resources: [passwords, uuids, ecrauthorizationtokens, vaultdynamicsecrets, gcraccesstokens, acraccesstokens, webhooks]
  verbs: [get]
# The cleanup finalizer: a PushSecret with deletionPolicy Delete is released once its remote secrets are deleted.
- apiGroups: [secretsync.dev]
  resources: [pushsecrets, pushsecrets/finalizers]
  verbs: [patch, update]
{{- if not .Values.watchNamespace }}
# ClusterExternalSecrets stamp ExternalSecrets into the namespaces they select, and remove the ones they made.
- apiGroups: [secretsync.dev]
  resources: [externalsecrets]
  verbs: [create, delete]
{{- end }}
- apiGroups: [secretsync.dev]
  resources: [externalsecrets, externalsecrets/finalizers]
  verbs: [patch, update]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
{{- if not .Values.watchNamespace }}
- apiGroups: [authentication.k8s.io]
  resources: [tokenreviews]
  verbs: [create]
- apiGroups: [""]
  resources: [namespaces]
  verbs: [list, watch]
{{- end }}
- apiGroups: [""]
  resources: [serviceaccounts/token]
  verbs: [create]
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [get]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
{{- end -}}

{{/* Restarting the workloads that use a changed Secret (rolloutRestart.enabled): read and patch them. */}}
{{- define "secretsync.restartRules" -}}
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [get, list, patch]
- apiGroups: [argoproj.io]
  resources: [rollouts]
  verbs: [get, list, patch]
{{- end }}
