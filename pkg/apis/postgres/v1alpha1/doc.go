// Package v1alpha1 is the v1alpha1 version of the postgres-operator.dev API.
//
// +k8s:deepcopy-gen=package
// +groupName=postgres-operator.dev
// +groupGoName=Postgres
// +kubebuilder:object:generate=false
package v1alpha1
