# Entry points. Every target provides the pinned toolchain itself (scripts/toolchain.sh).
SHELL := /usr/bin/env bash
TOOL := scripts/toolchain.sh

.PHONY: up build test deps k8s-binaries typecheck lint unit status generate bench bench-control-plane

## Start the gateway in standalone mode with the example manifests.
up: deps
	$(TOOL) node scripts/standalone.ts

## The data plane as production runs it: one ESM bundle in dataplane/dist (scripts/build-dataplane.ts;
## dataplane/Dockerfile builds the same). Run it with `node dataplane/dist/main.js`.
build: deps
	$(TOOL) node scripts/build-dataplane.ts

## Everything CI runs: typecheck, lint, the whole test suite.
test: deps k8s-binaries
	$(TOOL) pnpm run typecheck
	$(TOOL) pnpm run lint
	$(TOOL) pnpm run test

deps:
	$(TOOL) pnpm install --frozen-lockfile --prefer-offline --reporter=silent

## Real kube-apiserver, etcd, kubectl, helm, kubeconform for the e2e tests: built from Go modules on
## first use (about 10 minutes), then cached under ~/.cache/tollgate/k8s.
k8s-binaries:
	e2e/k8s/provision.sh >/dev/null

typecheck: deps
	$(TOOL) pnpm run typecheck

lint: deps
	$(TOOL) pnpm run lint

## Print the conditions of every object from the running standalone controller.
status:
	$(TOOL) node controller/src/main.ts status

## Regenerate crds/ and the protobuf code.
generate: deps
	$(TOOL) pnpm run generate

## Side-by-side load benchmark (direct, nginx, HAProxy, Portkey, Tollgate); installs its own tools.
## Options: make bench ARGS="--quick" (or --runs N --seconds S --warmup S --only a,b). See docs/benchmarks.md.
## Then the control-plane benchmark (bench/control-plane.ts; --quick when ARGS has it).
bench: deps k8s-binaries
	$(TOOL) node bench/run.ts $(ARGS)
	$(TOOL) node bench/control-plane.ts $(if $(findstring --quick,$(ARGS)),--quick,) $(CP_ARGS)

## Control-plane benchmark alone: snapshot build/apply at 1,000 and 10,000 routes, route lookup at
## 100 vs 10,000 routes, manifest change → traffic (file source and kubectl against a real API
## server), latency during snapshot swaps at 10,000 routes. Options: CP_ARGS="--quick --only build,lookup".
bench-control-plane: deps k8s-binaries
	$(TOOL) node bench/control-plane.ts $(CP_ARGS)
