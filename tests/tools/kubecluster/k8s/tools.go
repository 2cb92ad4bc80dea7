//go:build tools

// Package tools pins the commands scripts/kube-cluster builds from this module:
//
//	go build -o BIN/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
//	go build -o BIN/kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
//	go build -o BIN/kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
//	go build -o BIN/kubectl k8s.io/kubernetes/cmd/kubectl
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
