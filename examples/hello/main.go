// Command hello is the smallest service hoist deploys: it answers on $PORT (default 8080)
// with a greeting that names its version, and reports health on /healthz.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

// Set at build time by hoist with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "none"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from hoist (version %s, commit %s)\n", version, commit)
	})
	log.Printf("hello %s listening on :%s", version, port)
	log.Fatal(http.ListenAndServe(":"+port, mux))
}
