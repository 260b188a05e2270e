# postgres-operator — developer entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
IMAGE     ?= localhost/postgres-operator:dev
LOCAL     := $(CURDIR)/.local-cluster
CLUSTER   := hack/local-cluster.sh
KUBECTL   := $(LOCAL)/bin/kubectl --kubeconfig $(LOCAL)/etc/admin.kubeconfig
GO_LDFLAGS := -s -w -X main.version=$(VERSION)
PLUGIN_DIR ?= /usr/local/bin

.PHONY: help generate verify build build-operator build-plugin install-plugin test test-unit \
        test-integration test-e2e test-e2e-nodes image local-up local-down object-store deploy undeploy demo bench scale figures

help: ## Show this help.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

generate: ## Regenerate clients, deepcopy, the CRD and the manifest bundle.
	hack/update-codegen.sh

verify: ## Fail if generated code is stale; go vet.
	hack/verify-codegen.sh
	go vet ./...
	go vet -tags integration,e2e,e2enodes ./...

build: build-operator build-plugin ## Build bin/postgres-operator and bin/kubectl-pgc.

build-operator: ## Build bin/postgres-operator (all that the image needs).
	CGO_ENABLED=0 go build -trimpath -ldflags '$(GO_LDFLAGS)' -o bin/postgres-operator ./cmd/postgres-operator

build-plugin: ## Build bin/kubectl-pgc, the kubectl plugin (`kubectl pgc`).
	CGO_ENABLED=0 go build -trimpath -ldflags '$(GO_LDFLAGS)' -o bin/kubectl-pgc ./cmd/kubectl-pgc

install-plugin: build-plugin ## Copy bin/kubectl-pgc to /usr/local/bin (PLUGIN_DIR=...) so that `kubectl pgc` works.
	install -m 0755 bin/kubectl-pgc $(PLUGIN_DIR)/kubectl-pgc
	@echo "installed $(PLUGIN_DIR)/kubectl-pgc: try kubectl pgc status <cluster>"

test-unit: ## Unit tests (fast, no cluster, no PostgreSQL).
	go test -race -count=1 ./...

test-integration: ## pkg/postgres and member.sh against real PostgreSQL servers on loopback.
	go test -count=1 -tags integration ./pkg/postgres/... ./pkg/cluster/...

test-e2e: ## End-to-end suite on the local cluster (brings it up and down).
	hack/e2e.sh

test-e2e-nodes: ## Multi-node e2e suite: node cut, stop, operator down, drain on 3 local nodes (KEEP_CLUSTER=1, E2E_RUN=regex).
	hack/e2e-nodes.sh

test: ## The README's test command: unit, integration, e2e on one node, then the three-node suite.
	$(MAKE) test-unit
	$(MAKE) test-integration
	$(MAKE) test-e2e
	$(MAKE) test-e2e-nodes

image: build-operator ## Build the operator image as a docker archive (no Docker engine).
	mkdir -p $(LOCAL)/images
	go -C hack/images run . pack-binary --binary $(CURDIR)/bin/postgres-operator \
	    --tag $(IMAGE) --out $(LOCAL)/images/postgres-operator.tar

local-up: ## Start the built-in local Kubernetes cluster (NODES=3: three nodes; a fresh start has one).
	$(if $(NODES),LOCAL_CLUSTER_NODES=$(NODES) )$(CLUSTER) up

local-down: ## Stop the local cluster and remove everything it set up on the host.
	$(CLUSTER) down

object-store: local-up ## S3 object store (versitygw, bucket backups) in the local cluster, for pgBackRest.
	hack/object-store.sh up

deploy: image ## Install the operator into the local cluster and wait for it to lead.
	hack/deploy.sh

undeploy: ## Remove the operator (PostgresClusters are deleted first).
	-$(KUBECTL) delete postgresclusters --all --all-namespaces --wait=true
	-$(KUBECTL) delete -k hack/local-overlay --ignore-not-found --wait=true

demo: ## Fresh machine to a Ready PostgresCluster on the local cluster.
	hack/demo.sh

bench: ## Benchmarks that print figures (needs the local cluster).
	hack/bench.sh

scale: ## The scale bench: a fleet of 100 real clusters, ~25 min (SCALE_ARGS='--scale-clusters 50 ...').
	hack/bench.sh --only scale $(SCALE_ARGS)

figures: ## Local cluster figures (set-up time, memory).
	hack/local-cluster-figures.sh
