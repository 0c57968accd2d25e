// Package clientcertificate is a Caddy v2 plugin that authorizes requests by
// the TLS client certificate the caller presented.
//
// One compiled policy (policy.go, conditions.go; decided in evaluate.go) is
// evaluated by three thin modules: an HTTP handler
// (http.handlers.client_certificate), a request matcher
// (http.matchers.client_certificate) and a TLS client_auth verifier
// (tls.client_auth.verifier.client_certificate). All three share the same
// Caddyfile block and JSON fields. What the plugin keeps beyond one call is
// listed in state.go.
package clientcertificate
