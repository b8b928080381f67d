//go:build tools

// Package tools pins the Helm CLI the chart tests use; scripts/install-tools.sh
// builds it from the Go module proxy.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
