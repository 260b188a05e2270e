// Package postgres holds the API group name shared by all versions.
package postgres

// GroupName is the API group of every postgres-operator resource.
const GroupName = "postgres-operator.dev"
