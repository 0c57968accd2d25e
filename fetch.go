// fetch.go: fetching CRLs and OCSP responses over HTTP, with a time limit,
// a size cap, and errors that say what came back instead.

package clientcertificate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// fetchClient fetches revocation data. It follows at most a few redirects,
// to http(s) URLs only; the caller's context bounds the whole exchange.
var fetchClient = &http.Client{
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > 3 {
			return errors.New("too many redirects")
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirect to %s URL refused", req.URL.Scheme)
		}
		return nil
	},
}

// fetchRequest describes one fetch.
type fetchRequest struct {
	url         string
	body        []byte // POST when set, else GET
	contentType string // of body
	accept      string
	limit       int64 // largest body accepted
	timeout     time.Duration
}

// fetch performs the request and returns the body of a 200 response, or an
// error naming the URL and what went wrong (status, HTML page, size).
func fetch(ctx context.Context, fr fetchRequest) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, fr.timeout)
	defer cancel()
	method := http.MethodGet
	var body io.Reader
	if fr.body != nil {
		method, body = http.MethodPost, bytes.NewReader(fr.body)
	}
	req, err := http.NewRequestWithContext(ctx, method, fr.url, body)
	if err != nil {
		return nil, err
	}
	if fr.body != nil {
		req.Header.Set("Content-Type", fr.contentType)
	}
	req.Header.Set("Accept", fr.accept)
	req.Header.Set("User-Agent", "caddy-client-certificate")
	resp, err := fetchClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("no answer from %s within %s", fr.url, fr.timeout)
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("%s answered %s", fr.url, resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" {
		return nil, fmt.Errorf("%s answered with an HTML page, not %s", fr.url, fr.accept)
	}
	if resp.ContentLength > fr.limit {
		return nil, fmt.Errorf("%s announced %d bytes, over the limit of %d bytes", fr.url, resp.ContentLength, fr.limit)
	}
	data, err := readLimited(resp.Body, fr.limit)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s: body not received within %s", fr.url, fr.timeout)
		}
		return nil, fmt.Errorf("%s: %v", fr.url, err)
	}
	if resp.ContentLength > 0 && int64(len(data)) != resp.ContentLength {
		return nil, fmt.Errorf("%s: truncated body (%d of %d bytes)", fr.url, len(data), resp.ContentLength)
	}
	if looksLikeHTML(data) {
		return nil, fmt.Errorf("%s answered with an HTML page, not %s", fr.url, fr.accept)
	}
	return data, nil
}

// readLimited reads r to the end, failing when it holds more than limit
// bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("over the limit of %d bytes", limit)
	}
	return data, nil
}

// looksLikeHTML recognises the error pages that servers send with a 200
// status and a wrong content type.
func looksLikeHTML(data []byte) bool {
	head := strings.ToLower(string(bytes.TrimSpace(data[:min(len(data), 64)])))
	return strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html")
}
