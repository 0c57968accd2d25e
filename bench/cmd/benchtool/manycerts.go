// manycerts.go: `benchtool manycerts`, the driver of row 8: many client
// certificates against one Caddy, with its memory sampled as they grow.

package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// manyCertsResult is what the manycerts row records (manycerts.json).
type manyCertsResult struct {
	Certs       int        `json:"certs"`
	Extra       int        `json:"extra"`
	Concurrency int        `json:"concurrency"`
	Points      []memPoint `json:"points"`
	Failures    int64      `json:"failures"`
	FirstError  string     `json:"first_error,omitempty"`
	Seconds     float64    `json:"seconds"`
	PerSecond   float64    `json:"connections_per_second"`
	Sanity      []string   `json:"sanity"`
	Recheck     string     `json:"recheck"`
	CaddyPID    int        `json:"caddy_pid"`
	Config      string     `json:"config"`
	Caddy       string     `json:"caddy"`
	Started     time.Time  `json:"started"`
}

// memPoint is Caddy's memory after a number of distinct certificates.
type memPoint struct {
	Certs int `json:"certs"`
	// VmRSS and VmHWM from /proc/PID/status, in KiB.
	RSSKiB int64 `json:"rss_kib"`
	HWMKiB int64 `json:"hwm_kib"`
	// Go heap after a forced GC (admin /debug/pprof/heap?gc=1).
	HeapAlloc int64 `json:"heap_alloc"`
	HeapInuse int64 `json:"heap_inuse"`
	// Live heap whose allocation stack goes through the plugin's package
	// (sampled heap profile, scaled; an estimate).
	PluginLive int64 `json:"plugin_live"`
}

func manyCerts(args []string) error {
	fs := flag.NewFlagSet("manycerts", flag.ContinueOnError)
	caddyBin := fs.String("caddy", "build/caddy", "Caddy binary with the plugin")
	caddyfile := fs.String("caddyfile", "bench/caddy/manycerts.Caddyfile", "Caddyfile template ({$PORT}, {$ADMIN_PORT}, {$PKI})")
	dir := fs.String("dir", "build/bench/manycerts", "work directory (PKI, Caddy log, result)")
	port := fs.Int("port", 0, "HTTPS port for Caddy (must be free)")
	adminPort := fs.Int("admin-port", 0, "admin port for Caddy (must be free)")
	n := fs.Int("n", 10000, "number of distinct client certificates")
	extra := fs.Int("extra", 0, "then this many more distinct certificates (where does memory level off?)")
	step := fs.Int("step", 0, "record memory every STEP certificates (default n/10)")
	conc := fs.Int("concurrency", 4, "connections in flight")
	out := fs.String("out", "", "write the result as JSON here (default DIR/manycerts.json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *port == 0 || *adminPort == 0 {
		return errors.New("-port and -admin-port are required")
	}
	if *n < 1 || *extra < 0 {
		return errors.New("-n must be positive and -extra not negative")
	}
	total := *n + *extra
	if *step <= 0 {
		*step = max(1, *n/10)
	}
	if *out == "" {
		*out = filepath.Join(*dir, "manycerts.json")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	res := manyCertsResult{Certs: *n, Extra: *extra, Concurrency: *conc, Config: *caddyfile, Caddy: *caddyBin, Started: time.Now().UTC()}

	// A fresh PKI: the standard test set, plus n leaves from its issuing CA.
	fmt.Printf("  generating a test PKI and %d client certificates\n", total)
	s, err := testpki.Standard()
	if err != nil {
		return err
	}
	pkiDir := filepath.Join(*dir, "pki")
	if err := os.MkdirAll(pkiDir, 0o700); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"root.pem":       s.Root.CertPEM(),
		"server.pem":     s.Server.CertPEM(),
		"server-key.pem": s.Server.KeyPEM(),
	} {
		if err := testpki.WriteFile(filepath.Join(pkiDir, name), data); err != nil {
			return err
		}
	}
	leaves, err := issueMany(s.Intermediate, total)
	if err != nil {
		return err
	}
	roots := testpki.Pool(s.Root)

	// Caddy.
	absPKI, _ := filepath.Abs(pkiDir)
	home, _ := filepath.Abs(filepath.Join(*dir, "caddy-home"))
	logPath := filepath.Join(*dir, "caddy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(*caddyBin, "run", "--config", *caddyfile, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(),
		"PORT="+strconv.Itoa(*port), "ADMIN_PORT="+strconv.Itoa(*adminPort), "PKI="+absPKI,
		"XDG_CONFIG_HOME="+home+"/config", "XDG_DATA_HOME="+home+"/data")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	res.CaddyPID = cmd.Process.Pid
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(*port))
	if err := waitListening(ctx, addr, exited, 30*time.Second); err != nil {
		return fmt.Errorf("caddy (pid %d, log %s): %v", res.CaddyPID, logPath, err)
	}
	fmt.Printf("  Caddy pid %d serving https://localhost:%d (log %s)\n", res.CaddyPID, *port, logPath)

	c := &certClient{addr: addr, host: fmt.Sprintf("localhost:%d", *port), roots: roots}
	// Check that the policy allows the CA's certificates and verifies
	// chains (a certificate from another CA with the same names is denied).
	sanity := []struct {
		name string
		leaf *testpki.Leaf
		want int
	}{
		{"station-042 (issuing CA)", s.Good, 200},
		{"station-042 from another CA", s.FromOtherCA, 403},
		{"station-042 expired", s.Expired, 403},
	}
	for _, sc := range sanity {
		code, err := c.get(sc.leaf.TLSCertificate())
		got := strconv.Itoa(code)
		if err != nil {
			got = err.Error()
		}
		line := fmt.Sprintf("%s: want %d, got %s", sc.name, sc.want, got)
		fmt.Println("  probe", line)
		res.Sanity = append(res.Sanity, line)
		if code != sc.want {
			return fmt.Errorf("sanity check failed: %s; see %s", line, logPath)
		}
	}

	admin := fmt.Sprintf("http://localhost:%d", *adminPort)
	measure := func(certs int) error {
		p, err := memoryOf(res.CaddyPID, admin)
		if err != nil {
			return err
		}
		p.Certs = certs
		res.Points = append(res.Points, p)
		fmt.Printf("  after %6d certificates: RSS %7.1f MiB (peak %7.1f)  Go heap after GC %6.1f MiB  plugin-allocated live heap ~%5.1f MiB\n",
			certs, kib(p.RSSKiB), kib(p.HWMKiB), mib(p.HeapAlloc), mib(p.PluginLive))
		return nil
	}
	if err := measure(0); err != nil {
		return err
	}

	var failures atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	for lo, hi := 0, 0; lo < total; lo = hi {
		hi = min(lo+*step, total)
		if lo < *n && hi > *n {
			hi = *n // always record a point at exactly n
		}
		next := atomic.Int64{}
		next.Store(int64(lo))
		var wg sync.WaitGroup
		for w := 0; w < *conc; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					i := int(next.Add(1) - 1)
					if i >= hi {
						return
					}
					code, err := c.get(leaves[i])
					if err != nil || code != 200 {
						failures.Add(1)
						if err == nil {
							err = fmt.Errorf("certificate %d: status %d", i, code)
						}
						firstErr.CompareAndSwap(nil, err.Error())
					}
				}
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := measure(hi); err != nil {
			return err
		}
	}
	res.Seconds = time.Since(start).Seconds()
	res.PerSecond = float64(total) / res.Seconds
	res.Failures = failures.Load()
	if v, ok := firstErr.Load().(string); ok {
		res.FirstError = v
	}

	// The first certificate was most likely evicted from every cache: it
	// must still be allowed (verified again).
	code, err := c.get(leaves[0])
	res.Recheck = fmt.Sprintf("certificate #1 again after %d others: status %d", total-1, code)
	if err != nil {
		res.Recheck = fmt.Sprintf("certificate #1 again after %d others: %v", total-1, err)
	}
	fmt.Println(" ", res.Recheck)
	fmt.Printf("  %d connections in %.1f s (%.0f/s), %d failed\n", total, res.Seconds, res.PerSecond, res.Failures)

	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	if res.Failures > 0 {
		return fmt.Errorf("%d of %d connections failed, first: %s", res.Failures, total, res.FirstError)
	}
	return nil
}

// issueMany issues n distinct client certificates from ca, in parallel.
func issueMany(ca *testpki.CA, n int) ([]tls.Certificate, error) {
	out := make([]tls.Certificate, n)
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				l, err := ca.Issue(testpki.Options{Subject: pkix.Name{
					CommonName:         fmt.Sprintf("station-%05d", i),
					OrganizationalUnit: []string{"Stations"},
					Organization:       []string{"Contoso Weather"},
					Country:            []string{"US"},
				}})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				out[i] = l.TLSCertificate()
			}
		}()
	}
	wg.Wait()
	return out, firstErr
}

// certClient makes one HTTP/1.1 request per new TLS connection, without
// session resumption, so every request is a full handshake with a client
// certificate.
type certClient struct {
	addr, host string
	roots      *x509.CertPool
}

func (c *certClient) get(cert tls.Certificate) (int, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", c.addr, &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      c.roots,
		ServerName:   "localhost",
		NextProtos:   []string{"http/1.1"},
	})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", c.host); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func waitListening(ctx context.Context, addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-exited:
			return errors.New("exited during startup")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %s", addr, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// memoryOf reads the process's RSS, then forces a GC through the admin
// endpoint's heap profile and reads the live heap from it.
func memoryOf(pid int, admin string) (memPoint, error) {
	var p memPoint
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			p.RSSKiB = v
		case "VmHWM:":
			p.HWMKiB = v
		}
	}
	if p.RSSKiB == 0 {
		return p, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(admin + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return p, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return p, fmt.Errorf("admin heap profile: %s: %s", resp.Status, b)
	}
	return parseHeapProfile(resp.Body, p)
}

var (
	heapHeader = regexp.MustCompile(`^heap profile: .* @ heap/(\d+)`)
	heapRecord = regexp.MustCompile(`^(\d+): (\d+) \[(\d+): (\d+)\] @`)
	memStat    = regexp.MustCompile(`^# (HeapAlloc|HeapInuse) = (\d+)`)
)

// pluginPackage identifies the plugin's frames in a heap profile's stacks.
const pluginPackage = "caddy-mtls/caddy-client-certificate."

// parseHeapProfile reads a debug=1 (legacy text) heap profile: the live heap
// statistics of runtime.MemStats at its end, and the in-use bytes of the
// records whose stack goes through the plugin, scaled for sampling as
// pprof does.
func parseHeapProfile(r io.Reader, p memPoint) (memPoint, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	rate := 512 * 1024.0
	var curObjs, curBytes float64
	inRecord, counted := false, false
	flush := func() {
		if inRecord && counted && curObjs > 0 {
			avg := curBytes / curObjs
			scale := 1 / (1 - math.Exp(-avg/rate))
			p.PluginLive += int64(curBytes * scale)
		}
		inRecord, counted = false, false
	}
	sawHeader := false
	for sc.Scan() {
		line := sc.Text()
		if m := heapHeader.FindStringSubmatch(line); m != nil {
			if v, _ := strconv.ParseFloat(m[1], 64); v > 0 {
				rate = v / 2
			}
			sawHeader = true
			continue
		}
		if m := heapRecord.FindStringSubmatch(line); m != nil {
			flush()
			inRecord = true
			curObjs, _ = strconv.ParseFloat(m[1], 64)
			curBytes, _ = strconv.ParseFloat(m[2], 64)
			continue
		}
		if strings.HasPrefix(line, "#\t") {
			if inRecord && strings.Contains(line, pluginPackage) {
				counted = true
			}
			continue
		}
		flush()
		if m := memStat.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseInt(m[2], 10, 64)
			if m[1] == "HeapAlloc" {
				p.HeapAlloc = v
			} else {
				p.HeapInuse = v
			}
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return p, err
	}
	if !sawHeader || p.HeapAlloc == 0 {
		return p, errors.New("admin heap profile: unexpected format (no header or no HeapAlloc)")
	}
	return p, nil
}

func kib(v int64) float64 { return float64(v) / 1024 }
func mib(v int64) float64 { return float64(v) / (1 << 20) }
