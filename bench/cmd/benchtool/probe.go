// probe.go: `benchtool probe`, `summary` and `cputime`: the sample request
// before each configuration, one line of a vegeta report, CPU accounting.

package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// probe sends one request on a fresh connection and checks the answer.
func probe(args []string) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	url := fs.String("url", "", "URL to GET")
	certFile := fs.String("cert", "", "client certificate (PEM, leaf then chain); empty: none")
	keyFile := fs.String("key", "", "client key (PEM)")
	caFile := fs.String("ca", "", "root certificate(s) that sign the server certificate")
	h2 := fs.Bool("h2", false, "require HTTP/2 (default: HTTP/1.1 only)")
	want := fs.String("want", "200", "expected status code, or \"refused\" for a failed TLS handshake")
	body := fs.String("body", "", "expected response body (exact, if given)")
	name := fs.String("name", "", "label for messages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || *caFile == "" {
		return errors.New("-url and -ca are required")
	}
	got, err := probeOnce(*url, *certFile, *keyFile, *caFile, *h2)
	label := *name
	if label == "" {
		label = *url
	}
	if err != nil {
		return fmt.Errorf("%s: %v", label, err)
	}
	ok := got.outcome == *want && (*body == "" || got.outcome != "200" || got.body == *body)
	if *h2 && got.outcome != "refused" && got.proto != "HTTP/2.0" {
		ok = false
	}
	cert := *certFile
	if cert == "" {
		cert = "(none)"
	} else {
		cert = cert[strings.LastIndex(cert, "/")+1:]
	}
	fmt.Printf("  probe %-34s cert %-18s want %-7s got %s\n", label, cert, *want, got)
	if !ok {
		return fmt.Errorf("%s: unexpected answer %s (want %s%s); the configuration does not do what the benchmark assumes", label, got, *want, map[bool]string{true: " over HTTP/2", false: ""}[*h2])
	}
	return nil
}

type probeResult struct {
	outcome string // status code or "refused"
	proto   string
	body    string
	err     string
}

func (r probeResult) String() string {
	if r.outcome == "refused" {
		return "refused (" + r.err + ")"
	}
	body := r.body
	if len(body) > 40 {
		body = body[:37] + "..."
	}
	return fmt.Sprintf("%s %s %q", r.outcome, r.proto, body)
}

func probeOnce(url, certFile, keyFile, caFile string, h2 bool) (probeResult, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return probeResult{}, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return probeResult{}, fmt.Errorf("%s: no certificates", caFile)
	}
	cfg := &tls.Config{RootCAs: pool}
	if certFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return probeResult{}, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true, ForceAttemptHTTP2: h2}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		// A TLS alert (bad certificate, unknown CA, ...) or a reset after the
		// handshake: the server refused the client certificate.
		msg := err.Error()
		if strings.Contains(msg, "tls:") || strings.Contains(msg, "connection reset") || strings.Contains(msg, "EOF") {
			return probeResult{outcome: "refused", err: msg}, nil
		}
		return probeResult{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return probeResult{outcome: strconv.Itoa(resp.StatusCode), proto: resp.Proto, body: strings.TrimSpace(string(b))}, nil
}

// vegetaReport is the part of `vegeta report -type=json` the harness uses.
type vegetaReport struct {
	Latencies struct {
		P50 float64 `json:"50th"`
		P99 float64 `json:"99th"`
		Max float64 `json:"max"`
	} `json:"latencies"`
	Duration    float64        `json:"duration"`
	Requests    int64          `json:"requests"`
	Rate        float64        `json:"rate"`
	Throughput  float64        `json:"throughput"`
	Success     float64        `json:"success"`
	StatusCodes map[string]int `json:"status_codes"`
	Errors      []string       `json:"errors"`
}

func readReport(path string) (vegetaReport, error) {
	var r vegetaReport
	b, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %v", path, err)
	}
	return r, nil
}

// summary prints one line for a vegeta JSON report.
func summary(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: benchtool summary FILE")
	}
	r, err := readReport(args[0])
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%9.0f req/s  p50 %s  p99 %s  requests %d  success %.2f%%",
		r.Throughput, fmtDur(r.Latencies.P50), fmtDur(r.Latencies.P99), r.Requests, 100*r.Success)
	if len(r.Errors) > 0 {
		e := r.Errors[0]
		if len(e) > 100 {
			e = e[:100] + "..."
		}
		line += fmt.Sprintf("  errors: %d kinds, e.g. %s", len(r.Errors), e)
	}
	fmt.Println(line)
	return nil
}

// fmtDur formats nanoseconds as ms with 3 significant digits.
func fmtDur(ns float64) string {
	ms := ns / 1e6
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.2f ms", ms)
	}
}

// cputime prints the CPU time (user + system, in seconds) used so far by a
// process and all its descendants (nginx: the master and its workers).
func cputime(args []string) error {
	fs := flag.NewFlagSet("cputime", flag.ContinueOnError)
	hz := fs.Float64("hz", 100, "clock ticks per second (getconf CLK_TCK)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: benchtool cputime [-hz N] PID")
	}
	root, err := strconv.Atoi(fs.Arg(0))
	if err != nil {
		return err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	type stat struct {
		ppid  int
		ticks int64
	}
	procs := map[int]stat{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name is in parentheses and may contain spaces.
		s := string(b)
		s = s[strings.LastIndexByte(s, ')')+2:]
		f := strings.Fields(s)
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		procs[pid] = stat{ppid, utime + stime}
	}
	if _, ok := procs[root]; !ok {
		return fmt.Errorf("no process %d", root)
	}
	var total int64
	for pid, st := range procs {
		for p := pid; p > 0; {
			if p == root {
				total += st.ticks
				break
			}
			q, ok := procs[p]
			if !ok {
				break
			}
			p = q.ppid
		}
	}
	fmt.Printf("%.3f\n", float64(total) / *hz)
	return nil
}
