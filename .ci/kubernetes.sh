#!/usr/bin/env bash
# The Kubernetes manifests in docker/kubernetes/: every one valid against the Kubernetes API's schemas (strict:
# an unknown or misspelt field fails), and every one listed in kustomization.yaml.
set -euo pipefail
cd "$(dirname "$0")/../docker/kubernetes"
manifests=()
for f in *.yaml; do
  [ "$f" = kustomization.yaml ] || manifests+=("$f")
done
kubernetes-validate --strict --quiet "${manifests[@]}"
echo "valid (strict, Kubernetes $(kubernetes-validate --version 2>&1 | tail -n 1)): ${manifests[*]}"
for f in "${manifests[@]}"; do
  grep -qx "  - $f" kustomization.yaml || { echo "$f is not in kustomization.yaml's resources"; exit 1; }
done
echo "every manifest is in kustomization.yaml"
