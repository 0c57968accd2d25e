// fetch_test.go: the HTTP fetch of revocation data: redirects, limits and
// the error pages it refuses.

package clientcertificate

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFetch(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("/crl", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("0\x82crl")) })
	mux.HandleFunc("/r/", func(w http.ResponseWriter, r *http.Request) {
		// /r/N redirects N times before reaching /crl.
		n := strings.TrimPrefix(r.URL.Path, "/r/")
		next := "/crl"
		if n != "1" {
			next = "/r/" + string(rune(n[0]-1))
		}
		http.Redirect(w, r, next, http.StatusFound)
	})
	mux.HandleFunc("/ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://ftp.example/ca.crl", http.StatusFound)
	})
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("  <!DOCTYPE html><html><body>Sign in</body></html>"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(make([]byte, 2048)) })
	mux.HandleFunc("/post", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/ocsp-request" {
			http.Error(w, "want a POST of an OCSP request", http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte("answer"))
	})
	get := func(path string) ([]byte, error) {
		return fetch(context.Background(), fetchRequest{url: srv.URL + path, accept: "application/pkix-crl", limit: 1024, timeout: 5 * time.Second})
	}
	for _, tc := range []struct {
		path, body, err string
	}{
		{"/crl", "0\x82crl", ""},
		{"/r/3", "0\x82crl", ""},
		{"/r/4", "", "too many redirects"},
		{"/ftp", "", "redirect to ftp URL refused"},
		{"/html", "", "answered with an HTML page"},
		{"/big", "", "over the limit of 1024 bytes"},
		{"/missing", "", "404 Not Found"},
	} {
		body, err := get(tc.path)
		if tc.err == "" && (err != nil || string(body) != tc.body) {
			t.Errorf("%s: %q %v, want %q", tc.path, body, err, tc.body)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: error %v, want one containing %q", tc.path, err, tc.err)
		}
	}
	body, err := fetch(context.Background(), fetchRequest{url: srv.URL + "/post", body: []byte("req"), contentType: "application/ocsp-request", accept: "application/ocsp-response", limit: 1024, timeout: 5 * time.Second})
	if err != nil || string(body) != "answer" {
		t.Errorf("POST: %q %v", body, err)
	}
}
