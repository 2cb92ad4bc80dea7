// Command podwatch is a larger service, the size of a typical Kubernetes-aware Go program: it
// links the typed Kubernetes client and Prometheus instrumentation, serves /healthz and
// /metrics, and (when run in a cluster) reports how many pods it can see on /pods. hoist's
// benchmarks use it as the "large binary" case.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

var (
	version = "dev"
	commit  = "none"
)

var requests = prometheus.NewCounterVec(
	prometheus.CounterOpts{Name: "podwatch_requests_total", Help: "Requests served, by path."},
	[]string{"path"},
)

func main() {
	prometheus.MustRegister(requests)
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	var client kubernetes.Interface
	if cfg, err := rest.InClusterConfig(); err == nil {
		client, _ = kubernetes.NewForConfig(cfg)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		requests.WithLabelValues("/healthz").Inc()
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/pods", func(w http.ResponseWriter, r *http.Request) {
		requests.WithLabelValues("/pods").Inc()
		if client == nil {
			http.Error(w, "not running in a cluster", http.StatusServiceUnavailable)
			return
		}
		pods, err := client.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, "%d pods\n", len(pods.Items))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		requests.WithLabelValues("/").Inc()
		fmt.Fprintf(w, "podwatch %s (%s)\n", version, commit)
	})
	log.Printf("podwatch %s listening on :%s", version, port)
	log.Fatal(http.ListenAndServe(":"+port, mux))
}
