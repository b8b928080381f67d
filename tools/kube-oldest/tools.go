//go:build tools

// Package tools pins the oldest kube-apiserver and kube-controller-manager
// secretsync is tested against, for the optional `make test-oldest-kubernetes`.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
