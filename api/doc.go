// Package api is the HTTP face of `cohort serve`: for now the health and
// readiness probes a process supervisor or load balancer asks; the JSON API
// and the UI come later. It is an echo server over functions handed in.
package api
