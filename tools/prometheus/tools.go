//go:build tools

// Package tools pins promtool, which checks and unit-tests the alert rules in
// deploy/; scripts/install-control-plane.sh builds it from the Go module proxy.
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
