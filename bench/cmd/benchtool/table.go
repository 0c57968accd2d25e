// table.go: `benchtool table`, the results table: medians, drift-corrected
// ratios and verdicts against each row's target.

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// loadRow is a side-by-side load test: configuration A (baseline) against
// configuration B (candidate), ratio B/A.
type loadRow struct {
	id        string
	num       int
	what      string
	a, b      string
	unit      string
	minRatio  float64 // 0: no target (peer or diagnostic row)
	maxP99    float64 // 0: no p99 target; else B p99 / A p99 must be <= this
	targetTxt string
	noTarget  string // result of a row without a target
}

var loadRows = []loadRow{
	{id: "h1", num: 1, what: "keep-alive HTTP/1.1 mTLS: handler (thumbprint + subject + issuer + require_unexpired) on a TLS-verified chain vs. the same Caddy without the handler",
		a: "plugin Caddy, `require_and_verify`, no handler", b: "+ `client_certificate` handler",
		unit: "req/s", minRatio: 0.98, maxP99: 1.05, targetTxt: "≥ 0.98× req/s, p99 within 5%"},
	{id: "h2", num: 2, what: "keep-alive HTTP/2 mTLS: same handler vs. the same Caddy without the handler",
		a: "plugin Caddy, `require_and_verify`, no handler", b: "+ `client_certificate` handler",
		unit: "req/s", minRatio: 0.98, maxP99: 1.05, targetTxt: "≥ 0.98× req/s, p99 within 5%"},
	{id: "cel", num: 3, what: "keep-alive HTTP/1.1: same handler vs. stock Caddy with the equivalent CEL `expression`",
		a: "stock Caddy, `require_and_verify`, `not expression` fingerprint+subject+issuer → 403", b: "plugin Caddy, `client_certificate` handler",
		unit: "req/s", minRatio: 1.2, targetTxt: "≥ 1.2× req/s"},
	{id: "trustpool", num: 4, what: "keep-alive HTTP/1.1: handler with its own `trust_pool` under `mode request` (path validation by the policy, cached) vs. `require_and_verify` with no handler",
		a: "plugin Caddy, `require_and_verify`, no handler", b: "`mode request` + handler with `trust_pool`",
		unit: "req/s", minRatio: 0.97, targetTxt: "≥ 0.97× req/s"},
	{id: "verifier", num: 5, what: "new connection per request (handshake-bound, HTTP/1.1, no session resumption): verifier vs. none",
		a: "plugin Caddy, `require_and_verify`, no verifier", b: "+ `verifier client_certificate`",
		unit: "handshakes/s", minRatio: 0.97, targetTxt: "≥ 0.97× handshakes/s"},
	{id: "nginx", num: 9, what: "peer: nginx, keep-alive HTTP/1.1 mTLS, allowlist by `map $ssl_client_fingerprint` vs. no allowlist",
		a: "nginx, `ssl_verify_client on`", b: "+ `map $ssl_client_fingerprint` allowlist → 403",
		unit: "req/s", targetTxt: "reference (issue: nginx loses nothing measurable)", noTarget: "reference"},
	{id: "h2noop", num: 10, what: "diagnostic for row 2: keep-alive HTTP/2 mTLS, a no-op Caddy handler (`vars`) vs. no handler: what adding any handler to the route costs",
		a: "plugin Caddy, `require_and_verify`, no handler", b: "+ `vars bench_noop 1`",
		unit: "req/s", targetTxt: "none (explains row 2)", noTarget: "diagnostic"},
	{id: "h2own", num: 11, what: "diagnostic for row 2: keep-alive HTTP/2 mTLS, the `client_certificate` handler vs. the no-op handler: the check's own cost",
		a: "+ `vars bench_noop 1` (no check)", b: "`client_certificate` handler (row 2's B)",
		unit: "req/s", targetTxt: "none (explains row 2)", noTarget: "diagnostic"},
	{id: "metrics", num: 13, what: "keep-alive HTTP/1.1 mTLS: row 1's handler counting its decisions in `caddy_client_certificate_decisions_total` (the default) vs. the same handler with `disable_metrics`",
		a: "row 1's handler with `disable_metrics`", b: "row 1's handler (metrics on)",
		unit: "req/s", minRatio: 0.98, targetTxt: "≥ 0.98× req/s"},
}

type goBenchRow struct {
	num   int
	name  string
	what  string
	maxNs float64 // 0: no absolute target
	// relativeTo names a benchmark whose median, times maxRatio, bounds
	// this one's ("" for none).
	relativeTo string
	maxRatio   float64
	targetTxt  string
}

var goBenchRows = []goBenchRow{
	{num: 6, name: "BenchmarkDecisionVerifiedChain", what: "`go test -bench`: policy decision, thumbprint + subject + issuer + require_unexpired, verified chain, warm", maxNs: 100, targetTxt: "≤ 100 ns/op, 0 allocs/op"},
	{num: 7, name: "BenchmarkDecisionTrustPool", what: "`go test -bench`: same with a `trust_pool` (cached verification)", maxNs: 250, targetTxt: "≤ 250 ns/op, 0 allocs/op"},
	{num: 12, name: "BenchmarkDecisionWorstCase", what: "`go test -bench`: the worst case a client can arrange: 16,394 live connections, the shared facts full, a 100 KB self-signed certificate with 5,000 names under a thumbprint policy, warm",
		relativeTo: "BenchmarkDecisionVerifiedChain", maxRatio: 2, targetTxt: "≤ 2× row 6, 0 allocs/op (issue 8)"},
}

func table(args []string) error {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	dir := fs.String("dir", "build/bench", "directory run.sh recorded into")
	out := fs.String("out", "", "also write the output to this file")
	schedule := fs.String("schedule", "alternate", "how run.sh scheduled A and B: alternate or together")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var b strings.Builder
	if err := writeTable(&b, *dir, *schedule == "together"); err != nil {
		return err
	}
	fmt.Print(b.String())
	if *out != "" {
		return os.WriteFile(*out, []byte(b.String()), 0o644)
	}
	return nil
}

// run is one measured vegeta run of one configuration.
type run struct {
	side string // "A" or "B"
	rep  int
	r    vegetaReport
	cpu  float64 // CPU seconds the server used during the run; 0 if unknown
}

// cpuPerReq is the server's CPU time per successful request, in seconds.
func (r run) cpuPerReq() float64 {
	ok := r.r.Success * float64(r.r.Requests)
	if r.cpu <= 0 || ok <= 0 {
		return math.NaN()
	}
	return r.cpu / ok
}

func writeTable(b *strings.Builder, dir string, together bool) error {
	runs := map[string][]run{}
	if f, err := os.Open(filepath.Join(dir, "runs.tsv")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Split(sc.Text(), "\t")
			if len(fields) < 4 {
				continue
			}
			r, err := readReport(fields[3])
			if err != nil {
				f.Close()
				return err
			}
			rn := run{side: fields[1], r: r}
			rn.rep, _ = strconv.Atoi(fields[2])
			if len(fields) > 4 {
				rn.cpu, _ = strconv.ParseFloat(fields[4], 64)
			}
			runs[fields[0]] = append(runs[fields[0]], rn)
		}
		f.Close()
	}
	note := func(id string) string {
		s, err := os.ReadFile(filepath.Join(dir, "notes", id+".txt"))
		if err != nil {
			return ""
		}
		return strings.Join(strings.Fields(string(s)), " ")
	}

	if header, err := os.ReadFile(filepath.Join(dir, "header.md")); err == nil {
		b.Write(header)
		b.WriteString("\n")
	}

	type line struct {
		num   int
		cells [7]string
	}
	var lines []line
	var footnotes []string

	for _, row := range loadRows {
		l := line{num: row.num}
		l.cells[0] = strconv.Itoa(row.num)
		l.cells[1] = row.what
		l.cells[5] = row.targetTxt
		var as, bs []run
		for _, r := range runs[row.id] {
			if r.side == "A" {
				as = append(as, r)
			} else {
				bs = append(bs, r)
			}
		}
		if len(as) == 0 || len(bs) == 0 {
			l.cells[2], l.cells[3], l.cells[4] = "A: "+row.a, "B: "+row.b, "—"
			n := note(row.id)
			if n == "" {
				n = "not run"
			}
			l.cells[6] = n
			lines = append(lines, l)
			continue
		}
		ma, mb := summarize(as), summarize(bs)
		l.cells[2] = fmt.Sprintf("A: %s<br>%s", row.a, ma.cell(row.unit))
		l.cells[3] = fmt.Sprintf("B: %s<br>%s", row.b, mb.cell(row.unit))
		// Ratios of the runs made one after the other (A i, B i), so that
		// slow drift of the machine cancels; the median of those pairs.
		pr := pairRatios(as, bs, together)
		ratio, p99 := median(pr.rps), median(pr.p99)
		l.cells[4] = fmt.Sprintf("**%.3f×** %s (estimates %.2f–%.2f)<br>p99 %.2f×", ratio, row.unit, minOf(pr.rps), maxOf(pr.rps), p99)
		if len(pr.cpu) > 0 {
			l.cells[4] += fmt.Sprintf("<br>CPU/request %.2f×", median(pr.cpu))
		}
		var verdict []string
		met := true
		if row.minRatio > 0 && ratio < row.minRatio {
			met = false
			verdict = append(verdict, fmt.Sprintf("%.3f× < %.2f× (short by %.1f%%)", ratio, row.minRatio, 100*(row.minRatio-ratio)/row.minRatio))
		}
		if row.maxP99 > 0 && p99 > row.maxP99 {
			met = false
			verdict = append(verdict, fmt.Sprintf("p99 +%.1f%% > +%.0f%%", 100*(p99-1), 100*(row.maxP99-1)))
		}
		switch {
		case ma.errors > 0 || mb.errors > 0:
			l.cells[6] = fmt.Sprintf("**invalid**: non-2xx or failed requests (A %d, B %d)", ma.errors, mb.errors)
		case row.minRatio == 0:
			l.cells[6] = row.noTarget
		case met:
			l.cells[6] = "met"
		default:
			l.cells[6] = "**NOT met**: " + strings.Join(verdict, "; ")
		}
		if row.minRatio > 0 && minOf(pr.rps) < row.minRatio && maxOf(pr.rps) >= row.minRatio {
			l.cells[6] += fmt.Sprintf(" (estimates straddle %.2f×: within run-to-run noise)", row.minRatio)
		}
		if n := note(row.id); n != "" {
			l.cells[6] += " (" + n + ")"
		}
		lines = append(lines, l)
	}

	// go test -bench rows.
	benches, benchErr := readGoBench(filepath.Join(dir, "gotest.txt"))
	for _, gb := range goBenchRows {
		l := line{num: gb.num}
		l.cells[0] = strconv.Itoa(gb.num)
		l.cells[1] = gb.what
		l.cells[2] = "—"
		l.cells[4] = "—"
		l.cells[5] = gb.targetTxt
		rs := benches[gb.name]
		if len(rs) == 0 {
			l.cells[3] = "`" + gb.name + "`"
			n := note("gotest")
			if n == "" && benchErr != nil {
				n = benchErr.Error()
			}
			if n == "" {
				n = "benchmark not found in go test output"
			}
			l.cells[6] = n
			lines = append(lines, l)
			continue
		}
		var ns, allocs, bytes []float64
		for _, r := range rs {
			ns = append(ns, r.ns)
			allocs = append(allocs, r.allocs)
			bytes = append(bytes, r.bytes)
		}
		mns, mallocs, mbytes := median(ns), median(allocs), median(bytes)
		l.cells[3] = fmt.Sprintf("`%s`<br>**%.1f ns/op**, %g allocs/op, %g B/op (median of %d; %.1f–%.1f ns)",
			gb.name, mns, mallocs, mbytes, len(rs), minOf(ns), maxOf(ns))
		var verdict []string
		if gb.maxNs > 0 && mns > gb.maxNs {
			verdict = append(verdict, fmt.Sprintf("%.1f ns/op > %g (over by %.0f%%)", mns, gb.maxNs, 100*(mns-gb.maxNs)/gb.maxNs))
		}
		if gb.relativeTo != "" {
			var base []float64
			for _, r := range benches[gb.relativeTo] {
				base = append(base, r.ns)
			}
			if len(base) == 0 {
				verdict = append(verdict, gb.relativeTo+" not found in go test output")
			} else {
				ratio := mns / median(base)
				l.cells[4] = fmt.Sprintf("%.2f× `%s`", ratio, gb.relativeTo)
				if ratio > gb.maxRatio {
					verdict = append(verdict, fmt.Sprintf("%.2f× > %g×", ratio, gb.maxRatio))
				}
			}
		}
		if mallocs > 0 {
			verdict = append(verdict, fmt.Sprintf("%g allocs/op > 0", mallocs))
		}
		if len(verdict) == 0 {
			l.cells[6] = "met"
		} else {
			l.cells[6] = "**NOT met**: " + strings.Join(verdict, "; ")
		}
		lines = append(lines, l)
	}

	// 10,000 distinct certificates.
	{
		l := line{num: 8}
		l.cells[0] = "8"
		l.cells[5] = "verification cache stays within its bound (`verify_cache_size`, default 4096); RSS growth reported"
		var mc manyCertsResult
		raw, err := os.ReadFile(filepath.Join(dir, "manycerts.json"))
		if err == nil {
			err = json.Unmarshal(raw, &mc)
		}
		l.cells[1] = "distinct client certificates, one new connection each, against one `trust_pool` policy (`mode request`)"
		if err != nil || len(mc.Points) < 3 {
			l.cells[1] = "10,000 " + l.cells[1]
			l.cells[2], l.cells[3], l.cells[4] = "—", "—", "—"
			n := note("manycerts")
			if n == "" {
				n = "not run"
			}
			l.cells[6] = n
		} else {
			first, last := mc.Points[0], mc.Points[len(mc.Points)-1]
			atN := pointNear(mc.Points, mc.Certs)
			half := pointNear(mc.Points, mc.Certs/2)
			l.cells[1] = fmt.Sprintf("%s %s", thousands(float64(mc.Certs)), l.cells[1])
			if mc.Extra > 0 {
				l.cells[1] += fmt.Sprintf("; then %s more, to see where memory levels off", thousands(float64(mc.Extra)))
			}
			l.cells[2] = fmt.Sprintf("before (0 certificates):<br>RSS %.1f MiB, Go heap %.1f MiB", kib(first.RSSKiB), mib(first.HeapAlloc))
			l.cells[3] = fmt.Sprintf("after %s: RSS %.1f MiB, heap %.1f MiB<br>**after %s: RSS %.1f MiB**, heap %.1f MiB",
				thousands(float64(half.Certs)), kib(half.RSSKiB), mib(half.HeapAlloc),
				thousands(float64(atN.Certs)), kib(atN.RSSKiB), mib(atN.HeapAlloc))
			if mc.Extra > 0 {
				l.cells[3] += fmt.Sprintf("<br>after %s: RSS %.1f MiB, heap %.1f MiB", thousands(float64(last.Certs)), kib(last.RSSKiB), mib(last.HeapAlloc))
			}
			l.cells[3] += fmt.Sprintf("<br>peak RSS %.1f MiB", kib(last.HWMKiB))
			perCert := float64(half.HeapAlloc-first.HeapAlloc) / math.Max(float64(half.Certs), 1)
			l.cells[4] = fmt.Sprintf("RSS +%.1f MiB at %s; heap ≈ %.1f KiB per certificate while the caches fill",
				kib(atN.RSSKiB-first.RSSKiB), thousands(float64(atN.Certs)), perCert/1024)
			var share float64
			if mc.Extra > 0 {
				// Unbounded growth would add as much again for as many more
				// certificates; bounded caches add (almost) nothing.
				share = float64(last.HeapAlloc-atN.HeapAlloc) / math.Max(float64(atN.HeapAlloc-first.HeapAlloc), 1) *
					float64(atN.Certs) / math.Max(float64(last.Certs-atN.Certs), 1)
				l.cells[4] += fmt.Sprintf("<br>heap growth per certificate over the %s more = %.0f%% of that over the first %s",
					thousands(float64(mc.Extra)), 100*share, thousands(float64(mc.Certs)))
			} else {
				q1 := pointNear(mc.Points, last.Certs/4)
				q3 := pointNear(mc.Points, last.Certs*3/4)
				share = float64(last.HeapAlloc-q3.HeapAlloc) / math.Max(float64(q1.HeapAlloc-first.HeapAlloc), 1)
				l.cells[4] += fmt.Sprintf("<br>heap growth over the last quarter = %.0f%% of the first quarter's", 100*share)
			}
			// Growth this small is within what the runtime itself moves.
			small := mc.Extra > 0 && last.HeapAlloc-atN.HeapAlloc < 2<<20
			switch {
			case mc.Failures > 0:
				l.cells[6] = fmt.Sprintf("**invalid**: %d connections failed (%s)", mc.Failures, mc.FirstError)
			case share <= 0.25 || small:
				l.cells[6] = "met: memory levels off (bounded caches)"
			default:
				l.cells[6] = "**NOT met**: live heap still grows with distinct certificates"
			}
			var series []string
			for _, p := range mc.Points {
				series = append(series, fmt.Sprintf("%s: %.1f / %.1f / %.1f", thousands(float64(p.Certs)), kib(p.RSSKiB), mib(p.HeapAlloc), mib(p.PluginLive)))
			}
			footnotes = append(footnotes,
				fmt.Sprintf("Row 8 series (certificates: RSS MiB / Go heap after GC MiB / heap allocated under the plugin's functions MiB, from the sampled heap profile): %s. %s connections at %.0f/s, %d in flight. %s.",
					strings.Join(series, "; "), thousands(float64(mc.Certs+mc.Extra)), mc.PerSecond, mc.Concurrency, mc.Recheck))
		}
		lines = append(lines, l)
	}

	sort.SliceStable(lines, func(i, j int) bool { return lines[i].num < lines[j].num })
	b.WriteString("| # | what | baseline (A), median | candidate (B), median | B/A | target | result |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, l := range lines {
		cells := make([]string, len(l.cells))
		for i, c := range l.cells {
			cells[i] = strings.ReplaceAll(c, "|", "\\|")
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	for _, f := range footnotes {
		b.WriteString("\n" + f + "\n")
	}
	if err := writeProfiles(b, dir); err != nil {
		return err
	}
	if t, err := os.ReadFile(filepath.Join(dir, "footer.md")); err == nil {
		b.WriteString("\n")
		b.Write(t)
	}
	return nil
}

type sideSummary struct {
	rps, p99       float64
	minRps, maxRps float64
	cpuPerReq      float64 // median, seconds; NaN if unknown
	n              int
	errors         int64
}

func summarize(rs []run) sideSummary {
	var rps, p99, cpu []float64
	var s sideSummary
	for _, rn := range rs {
		r := rn.r
		rps = append(rps, r.Throughput)
		p99 = append(p99, r.Latencies.P99)
		if c := rn.cpuPerReq(); !math.IsNaN(c) {
			cpu = append(cpu, c)
		}
		ok := int64(0)
		for code, n := range r.StatusCodes {
			if strings.HasPrefix(code, "2") {
				ok += int64(n)
			}
		}
		s.errors += r.Requests - ok
	}
	s.rps, s.p99, s.cpuPerReq = median(rps), median(p99), median(cpu)
	s.minRps, s.maxRps = minOf(rps), maxOf(rps)
	s.n = len(rs)
	return s
}

func (s sideSummary) cell(unit string) string {
	c := fmt.Sprintf("**%s %s** (%s–%s, n=%d)<br>p99 %s", thousands(s.rps), unit, thousands(s.minRps), thousands(s.maxRps), s.n, fmtDur(s.p99))
	if !math.IsNaN(s.cpuPerReq) {
		c += fmt.Sprintf(", server CPU %.1f µs/request", s.cpuPerReq*1e6)
	}
	return c
}

type ratios struct{ rps, p99, cpu []float64 }

// pairRatios returns estimates of B/A for throughput, p99 latency and CPU
// per request.
//
// together: A i and B i ran at the same time, so each B i / A i is one
// estimate. alternate: the runs went A1 B1 A2 B2 ... An Bn, and slow drift
// of the machine would bias B i / A i (B always runs later), so each B run
// is compared with the mean of the A runs just before and after it, and
// each A run after the first with the mean of the B runs around it: 2(n-1)
// estimates in which linear drift cancels. With one run each, B1 / A1.
func pairRatios(as, bs []run, together bool) ratios {
	byRep := func(rs []run) map[int]run {
		m := map[int]run{}
		for _, r := range rs {
			m[r.rep] = r
		}
		return m
	}
	am, bm := byRep(as), byRep(bs)
	var reps []int
	for rep := range am {
		if _, ok := bm[rep]; ok {
			reps = append(reps, rep)
		}
	}
	sort.Ints(reps)
	metrics := []func(run) float64{
		func(r run) float64 { return r.r.Throughput },
		func(r run) float64 { return r.r.Latencies.P99 },
		func(r run) float64 { return r.cpuPerReq() },
	}
	var out ratios
	dst := []*[]float64{&out.rps, &out.p99, &out.cpu}
	add := func(k int, b, a float64) {
		if a > 0 && b > 0 && !math.IsNaN(a) && !math.IsNaN(b) {
			*dst[k] = append(*dst[k], b/a)
		}
	}
	for k, f := range metrics {
		if together || len(reps) == 1 {
			for _, rep := range reps {
				add(k, f(bm[rep]), f(am[rep]))
			}
			continue
		}
		for i := 0; i+1 < len(reps); i++ {
			a0, a1 := f(am[reps[i]]), f(am[reps[i+1]])
			b0, b1 := f(bm[reps[i]]), f(bm[reps[i+1]])
			add(k, b0, (a0+a1)/2) // B i between A i and A i+1
			add(k, (b0+b1)/2, a1) // A i+1 between B i and B i+1
		}
	}
	return out
}

type goBench struct{ ns, bytes, allocs float64 }

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op)?(?:\s+([\d.]+) allocs/op)?`)

func readGoBench(path string) (map[string][]goBench, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.New("go test output missing")
	}
	defer f.Close()
	out := map[string][]goBench{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		var g goBench
		g.ns, _ = strconv.ParseFloat(m[2], 64)
		g.bytes, _ = strconv.ParseFloat(m[3], 64)
		g.allocs, _ = strconv.ParseFloat(m[4], 64)
		out[m[1]] = append(out[m[1]], g)
	}
	return out, sc.Err()
}

func pointNear(ps []memPoint, certs int) memPoint {
	best := ps[0]
	for _, p := range ps {
		if abs(p.Certs-certs) < abs(best.Certs-certs) {
			best = p
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minOf(xs []float64) float64 {
	m := math.Inf(1)
	for _, x := range xs {
		m = math.Min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	return m
}

// thousands formats a non-negative number rounded to an integer with
// thousands separators.
func thousands(x float64) string {
	s := strconv.FormatInt(int64(math.Round(x)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
