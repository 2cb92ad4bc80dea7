//go:build tools

// Package tools pins the etcd server that scripts/kube-cluster builds:
//
//	go build -o BIN/etcd go.etcd.io/etcd/server/v3
package tools

import _ "go.etcd.io/etcd/server/v3"
