{{/*
The objects' name: the release's when it holds the chart's name (a release
"postgres-operator" gives the names of manifests/), else release-chart, so
that two releases never share a cluster-scoped object.
*/}}
{{- define "postgres-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
Selector labels: app.kubernetes.io/name as in manifests/, and the release,
so that two releases in one namespace select their own pods.
*/}}
{{- define "postgres-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Every object's labels: the selector's and helm's own. */}}
{{- define "postgres-operator.labels" -}}
{{ include "postgres-operator.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/*
The rights the operator needs over the namespaces it watches: the rules of
manifests/rbac/cluster_role.yaml. With clusterScoped, the ClusterRole's
(nodes, persistentvolumes and node leases too); without, a watched namespace's Role's
(manifests/namespaced/watched-namespace/role.yaml), which cannot grant
cluster-scoped resources.
*/}}
{{- define "postgres-operator.rules" -}}
# Informers (list/watch), a fresh read before retrying a status conflict (get).
- apiGroups: ["postgres-operator.dev"]
  resources: ["postgresclusters"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["postgres-operator.dev"]
  resources: ["postgresclusters/status"]
  verbs: ["update"]
# Children's controller ownerReferences set blockOwnerDeletion, which API
# servers with the OwnerReferencesPermissionEnforcement admission plugin
# (OpenShift, hardened clusters) allow only with this right.
- apiGroups: ["postgres-operator.dev"]
  resources: ["postgresclusters/finalizers"]
  verbs: ["update"]
# Members: created and deleted by the operator; relabelled on failover.
# Volumes are patched to grow and to follow storage.retainOnDelete.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch", "create", "delete", "patch"]
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["list", "watch", "create", "delete", "patch"]
- apiGroups: [""]
  resources: ["services", "secrets"]
  verbs: ["list", "watch", "create"]
# Services: the selector of one edited by hand is put back (service.go).
- apiGroups: [""]
  resources: ["services"]
  verbs: ["patch"]
# Secrets: labelled when users bring their own (read first with get), the
# operator's password record and the connection details kept current;
# never updated whole or deleted.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "patch"]
# ConfigMaps: get reads a databaseInitSQL script until it ran.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch"]
# The cluster's PodDisruptionBudget: created, and restored when edited;
# the garbage collector deletes it with the cluster.
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["list", "watch", "create", "update"]
# Backups: PostgresBackups are read, and created by the schedules; their
# status is written. Each runs as a Job (controlled by it, hence the
# finalizers right), read from the API when the cache lags (get), deleted
# once its backup expired; the engine's report is read from the Job pod's log.
- apiGroups: ["postgres-operator.dev"]
  resources: ["postgresbackups"]
  verbs: ["list", "watch", "create"]
- apiGroups: ["postgres-operator.dev"]
  resources: ["postgresbackups/status", "postgresbackups/finalizers"]
  verbs: ["update"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
# The event recorder creates Events and patches them when they repeat.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if .clusterScoped }}
# Cluster-scoped, so only in the ClusterRole (a namespaced install runs
# without it): a primary on a cordoned node is switched over before the
# drain, and a replica on a lost node is replaced on another.
- apiGroups: [""]
  resources: ["nodes"]
  verbs: ["list", "watch"]
# Cluster-scoped too: whether the volume of a member on a lost node is
# pinned to that node (node-local storage), read once per such volume.
- apiGroups: [""]
  resources: ["persistentvolumes"]
  verbs: ["get"]
# Node Leases (kube-node-lease), read only while a fenced primary's end is
# not confirmed: a kubelet that still renews its own has stopped the
# primary's self-fence probe, so the operator waits for it.
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get"]
{{- end }}
{{- end -}}

{{/* The watched namespaces of a namespaced install; it needs one at least. */}}
{{- define "postgres-operator.watchNamespaces" -}}
{{- if not .Values.watchNamespaces -}}
{{- fail "rbac.namespaced needs watchNamespaces: the namespaces the operator watches, with a Role in each" -}}
{{- end -}}
{{- join "," .Values.watchNamespaces -}}
{{- end -}}
