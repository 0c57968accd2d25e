// adapt_test.go: the golden Caddyfile → JSON (or → error) tests of
// testdata/caddyfile_adapt.

package clientcertificate_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/caddy-mtls/caddy-client-certificate"
)

var updateGolden = flag.Bool("update", false, "rewrite the JSON half of testdata/caddyfile_adapt/*.caddyfiletest from the adapter's output")

// TestCaddyfileAdapt checks every testdata/caddyfile_adapt/*.caddyfiletest:
// a Caddyfile, a "----------" line, then either the exact JSON it must adapt
// to, or a fragment of the error adapting it must fail with (file:line
// included).
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob("testdata/caddyfile_adapt/*.caddyfiletest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			caddyfileText, expected, ok := strings.Cut(string(data), "----------")
			if !ok {
				t.Fatalf("%s: no ---------- separator", file)
			}
			caddyfileText = strings.TrimSpace(caddyfileText) + "\n"
			expected = strings.TrimSpace(expected)

			if strings.HasPrefix(expected, "{") {
				if *updateGolden {
					rewriteGolden(t, file, caddyfileText)
					return
				}
				if !caddytest.CompareAdapt(t, file, caddyfileText, "caddyfile", expected) {
					t.Errorf("%s: adapted JSON differs from the golden JSON (diff above)", file)
				}
				return
			}
			_, _, err = caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfileText), nil)
			if err == nil {
				t.Fatalf("%s: expected an error containing %q, adapted fine", file, expected)
			}
			if !strings.Contains(err.Error(), expected) {
				t.Errorf("%s: error\n  %s\nwant it to contain\n  %s", file, err, expected)
			}
		})
	}
}

func rewriteGolden(t *testing.T, file, caddyfileText string) {
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfileText), nil)
	if err != nil {
		t.Fatalf("adapting %s: %v", file, err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, out, "", "\t"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(caddyfileText+"----------\n"+pretty.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
