// table_test.go: the table's logic: drift cancellation, verdicts, invalid
// rows, go test rows.

package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With drift, a ratio of neighbours is biased; pairRatios compares each run
// with the mean of the other side's runs around it, so a steady 10% drift
// per run cancels and the true ratio (0.9) comes out.
func TestPairRatiosCancelDrift(t *testing.T) {
	var as, bs []run
	for rep := 1; rep <= 4; rep++ {
		// A at time 2rep-1, B at time 2rep; the machine speeds up 10% per step.
		a := 1000 * (1 + 0.1*float64(2*rep-1))
		b := 0.9 * 1000 * (1 + 0.1*float64(2*rep))
		as = append(as, run{side: "A", rep: rep, r: vegetaReport{Throughput: a}})
		bs = append(bs, run{side: "B", rep: rep, r: vegetaReport{Throughput: b}})
	}
	r := pairRatios(as, bs, false)
	if len(r.rps) != 6 {
		t.Fatalf("%d estimates, want 2(n-1) = 6", len(r.rps))
	}
	for _, x := range r.rps {
		if math.Abs(x-0.9) > 0.001 {
			t.Errorf("estimate %.4f, want 0.9 (drift not cancelled)", x)
		}
	}
	// Run together, A i and B i share the machine's state: one ratio each.
	if r := pairRatios(as, bs, true); len(r.rps) != 4 {
		t.Errorf("together: %d ratios, want one per repetition", len(r.rps))
	}
}

// writeReport stores a vegeta report as run.sh does and returns its path.
func writeReport(t *testing.T, dir, name string, rps, p99 float64, ok bool) string {
	t.Helper()
	r := vegetaReport{Throughput: rps, Requests: 1000, Success: 1, StatusCodes: map[string]int{"200": 1000}}
	r.Latencies.P99 = p99
	if !ok {
		r.Success = 0.99
		r.StatusCodes = map[string]int{"200": 990, "403": 10}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The table applies each row's targets to the measured ratios: met, not
// met with the shortfall, invalid when requests failed, and the go test
// rows from go test's output.
func TestTableVerdicts(t *testing.T) {
	dir := t.TempDir()
	var tsv strings.Builder
	add := func(row string, rep int, aRPS, bRPS, bP99 float64, ok bool) {
		fa := writeReport(t, dir, fmt.Sprintf("%s-A-%d.json", row, rep), aRPS, 1e6, true)
		fb := writeReport(t, dir, fmt.Sprintf("%s-B-%d.json", row, rep), bRPS, bP99, ok)
		fmt.Fprintf(&tsv, "%s\tA\t%d\t%s\t1.0\n%s\tB\t%d\t%s\t1.0\n", row, rep, fa, row, rep, fb)
	}
	for rep := 1; rep <= 3; rep++ {
		add("h1", rep, 1000, 995, 1.01e6, true)      // 0.995×, p99 +1%: met
		add("h2", rep, 1000, 900, 1.2e6, true)       // 0.9×, p99 +20%: not met
		add("cel", rep, 1000, 1300, 1e6, true)       // 1.3×: met
		add("trustpool", rep, 1000, 990, 1e6, false) // failed requests: invalid
	}
	if err := os.WriteFile(filepath.Join(dir, "runs.tsv"), []byte(tsv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	gotest := "BenchmarkDecisionVerifiedChain-2   \t19152318\t        62.82 ns/op\t       0 B/op\t       0 allocs/op\n" +
		"BenchmarkDecisionTrustPool-2       \t16708056\t       271.98 ns/op\t       0 B/op\t       0 allocs/op\n" +
		"BenchmarkDecisionWorstCase-2       \t 9080768\t       131.20 ns/op\t       0 B/op\t       0 allocs/op\n"
	if err := os.WriteFile(filepath.Join(dir, "gotest.txt"), []byte(gotest), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := writeTable(&b, dir, false); err != nil {
		t.Fatal(err)
	}
	result := map[string]string{}
	for _, line := range strings.Split(b.String(), "\n") {
		cells := strings.Split(line, " | ")
		if len(cells) == 7 {
			result[strings.TrimPrefix(cells[0], "| ")] = cells[6]
		}
	}
	for row, want := range map[string]string{
		"1":  "met",
		"2":  "**NOT met**: 0.900× < 0.98× (short by 8.2%); p99 +20.0% > +5%",
		"3":  "met",
		"4":  "**invalid**",
		"6":  "met",
		"7":  "**NOT met**",
		"12": "**NOT met**: 2.09× > 2×",
		"5":  "not run",
	} {
		if got := result[row]; !strings.HasPrefix(got, want) {
			t.Errorf("row %s: result %q, want it to start with %q", row, got, want)
		}
	}
}
