// main_test.go: demopki writes a complete PKI, and its flags.

package main

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	var stdout bytes.Buffer
	if err := run([]string{"-out", dir, "-days", "7"}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}

	if runtime.GOOS != "windows" {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o700 {
			t.Errorf("directory mode %o, want 700", perm)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	for _, e := range entries {
		files[e.Name()] = true
		if runtime.GOOS == "windows" {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode %o, want 600", e.Name(), perm)
		}
	}
	want := []string{"root.pem", "intermediate.pem", "ca-bundle.pem", "server.pem", "server-key.pem", "thumbprints.env"}
	for _, n := range []string{"good", "other", "expired", "not-yet-valid", "server-auth-only",
		"from-other-ca", "from-rogue-ca", "self-signed", "comma-cn"} {
		want = append(want, n+".pem", n+"-key.pem")
	}
	for _, n := range want {
		if !files[n] {
			t.Errorf("missing %s", n)
		}
	}

	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	parseAll := func(name string) []*x509.Certificate {
		t.Helper()
		var certs []*x509.Certificate
		for rest := read(name); ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			certs = append(certs, c)
		}
		return certs
	}

	// good.pem + good-key.pem form a pair that verifies against root.pem.
	pair, err := tls.X509KeyPair(read("good.pem"), read("good-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	good := parseAll("good.pem")
	if len(good) != 2 || len(pair.Certificate) != 2 {
		t.Fatalf("good.pem has %d certificates, want 2", len(good))
	}
	if got := good[0].Subject.String(); got != "CN=station-042,OU=Stations,O=Contoso Weather,C=US" {
		t.Errorf("good subject %q", got)
	}
	if d := time.Until(good[0].NotAfter); d < 6*24*time.Hour || d > 7*24*time.Hour {
		t.Errorf("good valid for %v more, want about 7 days", d)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(read("root.pem")) {
		t.Fatal("root.pem unreadable")
	}
	inter := x509.NewCertPool()
	inter.AddCert(good[1])
	if _, err := good[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		t.Errorf("good does not verify: %v", err)
	}
	if bundle := parseAll("ca-bundle.pem"); len(bundle) != 2 || !bundle[1].Equal(good[1]) {
		t.Error("ca-bundle.pem is not root then intermediate")
	}

	env := string(read("thumbprints.env"))
	sha1Sum := sha1.Sum(good[0].Raw)
	sha256Sum := sha256.Sum256(parseAll("root.pem")[0].Raw)
	for _, line := range []string{
		"GOOD_SHA1=" + strings.ToUpper(hex.EncodeToString(sha1Sum[:])),
		"ROOT_SHA256=" + hex.EncodeToString(sha256Sum[:]),
	} {
		if !strings.Contains(env, line+"\n") {
			t.Errorf("thumbprints.env lacks %s", line)
		}
	}
	for _, re := range []string{
		`(?m)^GOOD_SHA1=[0-9A-F]{40}$`, `(?m)^GOOD_SHA256=[0-9a-f]{64}$`,
		`(?m)^OTHER_SHA1=[0-9A-F]{40}$`, `(?m)^INTERMEDIATE_SHA1=[0-9A-F]{40}$`,
		`(?m)^ROOT_SHA256=[0-9a-f]{64}$`, `(?m)^NOT_YET_VALID_SHA1=[0-9A-F]{40}$`,
	} {
		if !regexp.MustCompile(re).MatchString(env) {
			t.Errorf("thumbprints.env does not match %s", re)
		}
	}
	if !strings.Contains(stdout.String(), strings.ToUpper(hex.EncodeToString(sha1Sum[:]))) {
		t.Error("stdout listing lacks good's SHA-1")
	}
}

func TestRunFlags(t *testing.T) {
	for _, args := range [][]string{nil, {"-days", "0", "-out", t.TempDir()}, {"-out", t.TempDir(), "extra"}} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
