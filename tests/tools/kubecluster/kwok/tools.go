//go:build tools

// Package tools pins the kwok controller that scripts/kube-cluster builds:
//
//	go build -o BIN/kwok sigs.k8s.io/kwok/cmd/kwok
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
