// Command ids hands out identifiers: a chi router (a third-party module) serving UUIDs,
// so hoist's build is exercised on a module with dependencies and a go.sum.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
)

var (
	version = "dev"
	commit  = "none"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	r.Get("/id", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, uuid.NewString()) })
	r.Get("/version", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "ids %s (%s)\n", version, commit)
	})
	log.Printf("ids %s listening on :%s", version, port)
	log.Fatal(http.ListenAndServe(":"+port, r))
}
