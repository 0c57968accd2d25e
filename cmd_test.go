// cmd_test.go: the command as Caddy runs it: in-process through the same
// Cobra commands (runCLI), and as a real `caddy` (caddycmd.Main with the
// standard modules and this plugin) in a subprocess (caddyMain).

package clientcertificate

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
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
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestCaddyMainHelper$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), caddyMainEnv+"=1", "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir())
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

var _ = fmt.Sprint
var _ io.Reader
