// cmd.go: the `caddy client-certificate` command (inspect, check),
// registered with caddycmd.RegisterCommand as Cobra subcommands, as `caddy
// storage export|import` are, so that any Caddy built with the plugin has
// it. Exit statuses: 0 success (check: the request is allowed), 1 denied
// (check), 2 usage or input error, with one line on stderr.

package clientcertificate

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "client-certificate",
		Usage: "inspect|check ...",
		Short: "Inspects client certificates and checks client_certificate policies offline",
		Long: `
Commands of the client_certificate plugin:

  inspect   what a certificate offers to a policy (thumbprints, SPKI pin,
            subject and issuer as RFC 4514 and .NET print them, SANs, ...)
            and a client_certificate block that allows it
  check     whether a certificate would get a URL through a configuration:
            the TLS handshake and the routes, simulated offline, with every
            client_certificate verifier, matcher and handler explained

Exit status: 0 success (check: allowed), 1 denied (check), 2 usage or input
error (one line on stderr).
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.AddCommand(newInspectCommand(nil), newCheckCommand(nil))
		},
	})
}

// exitCodeError makes Caddy's Main exit with a status. Caddy exits with
// the status its own wrapper carries (for 2), and with 1 for any other
// error; nothing is printed (the commands print their own line).
func exitCodeError(cmd *cobra.Command, code int) error {
	switch code {
	case 0:
		return nil
	case 1:
		return errDenied
	}
	return caddycmd.WrapCommandFuncForCobra(func(caddycmd.Flags) (int, error) { return code, nil })(cmd, nil)
}

var errDenied = errors.New("denied")

// quiet makes Cobra print neither usage nor errors: each command prints
// one line of its own. code, if not nil, receives the exit status (tests).
func quiet(cmd *cobra.Command, code *int) {
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		n := usageError(c.ErrOrStderr(), c.Name(), err)
		if code != nil {
			*code = n
		}
		return exitCodeError(c, n)
	})
}

func newInspectCommand(code *int) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inspect [--json] <cert.pem|cert.der|->",
		Short: "Prints what a client certificate offers to a policy, and a block that allows it",
		Long: `
Prints, for each certificate of a PEM file (all CERTIFICATE blocks; keys are
skipped), a DER file, or standard input (-): the SHA-1 thumbprint in upper
case (as Windows and Azure API Management print it) and the SHA-256, the SPKI
pin (SHA-256 of the public key, base64), subject and issuer in RFC 4514 and as
.NET prints them, the serial in hex, the validity (and whether it is expired
or not yet valid), the SANs, the key type, whether it is a CA and its
extended key usages; then a client_certificate block that allows the first
certificate (a thumbprint pin and a subject+issuer identity).

--json prints the same as JSON.
`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := inspectOptions{now: time.Now()}
			o.json, _ = cmd.Flags().GetBool("json")
			n := 0
			if len(args) != 1 {
				n = usageError(cmd.ErrOrStderr(), "inspect", errNoInput)
			} else {
				o.input = args[0]
				n = runInspect(o, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
			if code != nil {
				*code = n
			}
			return exitCodeError(cmd, n)
		},
	}
	cmd.Flags().Bool("json", false, "print JSON")
	quiet(cmd, code)
	return cmd
}

func newCheckCommand(code *int) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check --config <file> [--adapter <name>] [--cert <leaf.pem>] [--chain <intermediates.pem>] --url https://host[:port]/path [--method GET] [--at <RFC 3339 time>] [--json]",
		Short: "Checks offline whether a client certificate gets a URL through a configuration",
		Long: `
Loads and provisions the configuration without starting it (no listener, no
admin endpoint, no certificate management, no network I/O; storage goes to a
temporary directory that is removed), then simulates what Caddy would do with
a request for the URL from a client presenting the certificate (and the
certificates after it in the file, and --chain's): the server listening on
the URL's port, the TLS connection policy chosen by the SNI (the URL's host),
client_auth's mode, trust pool and verifiers, then the HTTP routes for the
host and path (matchers, subroutes, handle blocks) up to the handler that
answers. Every client_certificate verifier, matcher and handler met on the
way prints its decision and, condition by condition, what held and what did
not. Without --cert the client presents no certificate.

--at evaluates at another time (validity and path validation). --json prints
the report as JSON.

Exit status: 0 when the request reaches the handler that answers it, 1 when
it is denied (at the handshake or by a handler), 2 on a usage or
configuration error.
`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			o := checkOptions{now: time.Now()}
			o.config, _ = f.GetString("config")
			o.adapter, _ = f.GetString("adapter")
			o.cert, _ = f.GetString("cert")
			o.chain, _ = f.GetString("chain")
			o.url, _ = f.GetString("url")
			o.method, _ = f.GetString("method")
			o.at, _ = f.GetString("at")
			o.json, _ = f.GetBool("json")
			n := runCheck(o, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
			if code != nil {
				*code = n
			}
			return exitCodeError(cmd, n)
		},
	}
	f := cmd.Flags()
	f.StringP("config", "c", "", "configuration file (required)")
	f.StringP("adapter", "a", "", "config adapter (default: caddyfile for a file named Caddyfile* or *.caddyfile, else JSON)")
	f.String("cert", "", "the client certificate, PEM or DER; certificates after the first are presented as its chain (- for standard input)")
	f.String("chain", "", "more certificates to present after it (intermediates), PEM or DER")
	f.String("url", "", "the request's URL: https://host[:port]/path (required)")
	f.String("method", "GET", "the request's method")
	f.String("at", "", "evaluate at this time (RFC 3339) instead of now")
	f.Bool("json", false, "print JSON")
	quiet(cmd, code)
	// Arguments are an error of their own (cobra.NoArgs), printed as one line.
	cmd.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		n := usageError(c.ErrOrStderr(), "check", fmt.Errorf("unexpected argument %q (use --cert, --url, ...)", args[0]))
		if code != nil {
			*code = n
		}
		return exitCodeError(c, n)
	}
	return cmd
}
