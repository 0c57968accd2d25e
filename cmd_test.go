// cmd_test.go: the command as Caddy runs it: in-process through the same
// Cobra commands (runCLI), and as a real `caddy` (caddycmd.Main with the
// standard modules and this plugin) in a subprocess (caddyMain).

package clientcertificate

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // thumbprints
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

// runCLI runs `caddy client-certificate args...` in-process with the same
// Cobra commands, and returns the exit status Caddy's Main would exit with.
func runCLI(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	code := 0
	root := &cobra.Command{Use: "caddy", SilenceUsage: true, SilenceErrors: true}
	parent := &cobra.Command{Use: "client-certificate"}
	parent.AddCommand(newInspectCommand(&code), newCheckCommand(&code))
	root.AddCommand(parent)
	root.SetArgs(append([]string{"client-certificate"}, args...))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil && code == 0 {
		fmt.Fprintln(stderr, "caddy client-certificate:", oneLine(err.Error()))
		return 2
	}
	return code
}

// cli runs `caddy client-certificate args...` in-process.
func cli(stdin string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = runCLI(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

const caddyMainEnv = "CLIENT_CERTIFICATE_TEST_CADDY_MAIN"

// TestCaddyMainHelper is not a test: run by caddyMain as a subprocess, it is
// `caddy` with this plugin, its arguments those after "--".
func TestCaddyMainHelper(t *testing.T) {
	if os.Getenv(caddyMainEnv) != "1" {
		t.Skip("the `caddy` of caddyMain")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Args = append([]string{"caddy"}, args...)
	caddycmd.Main()
	os.Exit(0)
}

// caddyMain runs `caddy args...` (this test binary as Caddy's main) and
// returns what it printed and its exit status.
func caddyMain(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	// Not os.Args[0]: caddytest's in-process Caddy sets os.Args.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, append([]string{"-test.run=^TestCaddyMainHelper$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), caddyMainEnv+"=1", "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir())
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

// Through Caddy's own main: the command is registered, and exits 0, 1 and
// 2 as documented, with one line on stderr for an error and nothing else
// (no stack trace, no log lines).
func TestCaddyMainExitStatuses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the test binary as caddy")
	}
	dir, s := DemoPKI(t)
	garbage := writeTemp(t, "garbage.pem", []byte("not a certificate"))
	broken := writeTemp(t, "Caddyfile", []byte("localhost {\n"))
	sum := fmt.Sprintf("%X", sha1Of(s.Good.Cert.Raw))
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stdout string // a line it must print
		stderr string // the one line it must print, if any
	}{
		{"help", []string{"client-certificate", "--help"}, 0, "  check       Checks offline whether a client certificate gets a URL through a configuration", ""},
		{"inspect", []string{"client-certificate", "inspect", filepath.Join(dir, "good.pem")}, 0, "  thumbprint         " + sum + "  (SHA-1)", ""},
		{"inspect garbage", []string{"client-certificate", "inspect", garbage}, 2, "", "caddy client-certificate inspect: " + garbage + ": not a certificate in PEM or DER: "},
		{"check allowed", []string{"client-certificate", "check", "--config", "example.Caddyfile", "--cert", filepath.Join(dir, "good.pem"), "--url", "https://localhost:8444/"}, 0, "result: allowed: the request reaches static_response at srv1.routes[0].handle[0].routes[0].handle[0]", ""},
		{"check denied", []string{"client-certificate", "check", "--config", "example.Caddyfile", "--cert", filepath.Join(dir, "other.pem"), "--url", "https://localhost:8444/"}, 1, "answer       the TLS handshake fails", ""},
		{"check config does not adapt", []string{"client-certificate", "check", "--config", broken, "--url", "https://localhost/"}, 2, "", "caddy client-certificate check: adapting " + broken + ": "},
		{"check unknown flag", []string{"client-certificate", "check", "--bogus"}, 2, "", "caddy client-certificate check: unknown flag: --bogus"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := caddyMain(t, "", c.args...)
			if code != c.code {
				t.Errorf("exit status %d, want %d (stderr %q)", code, c.code, stderr)
			}
			if c.stdout != "" && !strings.Contains(stdout, c.stdout+"\n") {
				t.Errorf("stdout lacks %q:\n%s", c.stdout, stdout)
			}
			switch {
			case c.stderr == "" && stderr != "":
				t.Errorf("stderr: %q", stderr)
			case c.stderr != "" && (!strings.HasPrefix(stderr, c.stderr) || strings.Count(stderr, "\n") != 1 || stdout != ""):
				t.Errorf("stderr %q (stdout %q), want one line starting %q", stderr, stdout, c.stderr)
			}
		})
	}
}

func sha1Of(b []byte) [20]byte { return sha1.Sum(b) } //nolint:gosec // thumbprint

// RunCLI is runCLI, for the tests of the external test package.
var RunCLI = runCLI
