// profiles.go: the CPU profile summary under the results table.

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// profileColumns are the functions whose cumulative share of the server's
// CPU samples the profile section reports: what row 2's gap is made of,
// and the plugin's own share.
var profileColumns = []struct{ title, fn string }{
	{"stack growth (`runtime.newstack`)", "runtime.newstack"},
	{"allocation (`runtime.mallocgc`)", "runtime.mallocgc"},
	{"GC mark workers (`runtime.gcBgMarkWorker`)", "runtime.gcBgMarkWorker"},
	{"the handler's check (`(*Handler).authorize`)", "github.com/caddy-mtls/caddy-client-certificate.(*Handler).authorize"},
	{"the verifier (`(*Verifier).VerifyClientCertificate`)", "github.com/caddy-mtls/caddy-client-certificate.(*Verifier).VerifyClientCertificate"},
}

// writeProfiles adds a section on the CPU profiles run.sh took (profiles.tsv:
// row, side, configuration, file), read with `go tool pprof -top -cum`.
func writeProfiles(b *strings.Builder, dir string) error {
	f, err := os.Open(filepath.Join(dir, "profiles.tsv"))
	if err != nil {
		return nil // no profiles taken
	}
	defer f.Close()
	b.WriteString("\nCPU profiles (`go tool pprof -top -cum` of one extra run of each configuration, taken through Caddy's admin endpoint after the measured runs; share of the server's CPU samples under each function):\n\n")
	b.WriteString("| row | side | configuration | CPU samples |")
	for _, c := range profileColumns {
		b.WriteString(" " + c.title + " |")
	}
	b.WriteString("\n|---|---|---|---|" + strings.Repeat("---|", len(profileColumns)) + "\n")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 4 {
			continue
		}
		num := fields[0]
		for _, r := range loadRows {
			if r.id == fields[0] {
				num = fmt.Sprint(r.num)
			}
		}
		total, shares, err := readProfile(fields[3])
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "| %s | %s | `%s` | %s |", num, fields[1], fields[2], total)
		for _, c := range profileColumns {
			v, ok := shares[c.fn]
			if !ok {
				v = "—"
			}
			b.WriteString(" " + v + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n— : no sample under that function. Profiles: `build/bench/profiles/`; e.g. `go tool pprof -top -cum build/bench/profiles/h2-B-handler.pprof`.\n")
	return sc.Err()
}

// readProfile returns the "Total samples" text and the cum% of each
// function in a CPU profile.
func readProfile(path string) (string, map[string]string, error) {
	out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=100000", "-nodefraction=0", "-edgefraction=0", path).Output()
	if err != nil {
		return "", nil, fmt.Errorf("go tool pprof %s: %w", path, err)
	}
	total := "?"
	shares := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, "Total samples = "); i >= 0 {
			total = strings.TrimSpace(line[i+len("Total samples = "):])
			continue
		}
		// flat flat% sum% cum cum% name...
		fields := strings.Fields(line)
		if len(fields) < 6 || !strings.HasSuffix(fields[4], "%") {
			continue
		}
		name := strings.Join(fields[5:], " ")
		name = strings.TrimSuffix(name, " (inline)")
		if _, seen := shares[name]; !seen {
			shares[name] = fields[4]
		}
	}
	return total, shares, nil
}
