// check.go: `caddy client-certificate check`: would this certificate get
// this URL through this configuration? The configuration is adapted and
// provisioned without starting anything (no listener, no admin endpoint,
// no certificate management), with its storage, logs and network-bound
// extras replaced (offlineConfig); then the TLS handshake a client with
// that SNI would get is simulated (the connection policy Caddy would pick,
// client_auth's mode, trust pool and verifiers) and the HTTP routes are
// walked (checkroutes.go). Every client_certificate verifier, matcher and
// handler met on the way reports its decision condition by condition.

package clientcertificate

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // thumbprints, see facts.go
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
	"github.com/caddyserver/certmagic"
)

// offlineProvisioning is set while check provisions a configuration:
// policies then compile their revocation block (so its errors are
// reported) but load no CRL source and fetch nothing.
var offlineProvisioning atomic.Bool

// checkOptions are the flags of check.
type checkOptions struct {
	config, adapter string
	cert, chain     string
	url, method     string
	at              string
	json            bool
	now             time.Time // when --at is not given
}

// checkRequest is the request check simulates.
type checkRequest struct {
	method string
	url    *url.URL
	host   string // without the port
	port   int
	sni    string // what curl sends: the host, none for an IP address
	at     time.Time
	peer   []*x509.Certificate // what the client would present, leaf first; nil: no certificate
}

func (o *checkOptions) request(stdin io.Reader) (*checkRequest, error) {
	if o.config == "" {
		return nil, errors.New("--config is required")
	}
	if o.url == "" {
		return nil, errors.New("--url is required (https://host[:port]/path)")
	}
	u, err := url.Parse(o.url)
	if err != nil {
		return nil, fmt.Errorf("--url: %v", err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("--url %q: must be https://host[:port]/path (client certificates need TLS)", o.url)
	}
	req := &checkRequest{method: strings.ToUpper(o.method), url: u, host: u.Hostname(), port: 443, at: o.now}
	if req.method == "" {
		req.method = http.MethodGet
	}
	if p := u.Port(); p != "" {
		req.port, err = strconv.Atoi(p)
		if err != nil || req.port < 1 || req.port > 65535 {
			return nil, fmt.Errorf("--url %q: bad port", o.url)
		}
	}
	if _, err := netip.ParseAddr(req.host); err != nil {
		req.sni = strings.ToLower(req.host)
	}
	if o.at != "" {
		req.at, err = time.Parse(time.RFC3339, o.at)
		if err != nil {
			return nil, fmt.Errorf("--at %q: want an RFC 3339 time such as 2030-01-02T15:04:05Z", o.at)
		}
	}
	if o.cert != "" {
		req.peer, err = readCertificates(o.cert, stdin)
		if err != nil {
			return nil, fmt.Errorf("--cert: %v", err)
		}
	}
	if o.chain != "" {
		if o.cert == "" {
			return nil, errors.New("--chain needs --cert")
		}
		if o.chain == "-" && o.cert == "-" {
			return nil, errors.New("--cert and --chain cannot both read standard input")
		}
		chain, err := readCertificates(o.chain, stdin)
		if err != nil {
			return nil, fmt.Errorf("--chain: %v", err)
		}
		req.peer = append(req.peer, chain...)
	}
	return req, nil
}

// offlineConfig is a configuration provisioned without being started.
type offlineConfig struct {
	ctx        caddy.Context
	cfg        *caddy.Config
	raw        map[string]any // the configuration as provisioned (after sanitize)
	http       *caddyhttp.App
	storageDir string
	overlays   int               // storages replaced by check's
	notes      []string          // what sanitize changed that a reader should know
	storage    certmagic.Storage // certmagic's default storage before provisioning, which sets it
}

// close cleans up every module provisioned (as caddy validate does once it
// has provisioned), restores certmagic's default storage, and removes the
// temporary storage.
func (oc *offlineConfig) close() {
	if oc.cfg != nil {
		cancelProvisioned(oc.cfg)
		certmagic.Default.Storage = oc.storage
	}
	if oc.storageDir != "" {
		os.RemoveAll(oc.storageDir)
	}
}

// cancelProvisioned cancels the context caddy.ProvisionContext made for
// cfg, which runs every module's Cleanup: without it, modules leave what
// they put in process-wide state behind (the tls app, the site's
// certificates in Caddy's shared certificate cache, where another
// configuration of the same process would find them). caddy.Validate does
// this with the Config's unexported cancelFunc, and Caddy exports no other
// way to do it; if a later Caddy renames the field, nothing is cleaned up
// (TestCheckLeavesNoCertificateBehind fails), which a one-shot command can
// live with.
func cancelProvisioned(cfg *caddy.Config) {
	f := reflect.ValueOf(cfg).Elem().FieldByName("cancelFunc")
	if !f.IsValid() || f.Kind() != reflect.Func || f.IsNil() {
		return
	}
	if cancel, ok := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(context.CancelCauseFunc); ok {
		cancel(errors.New("caddy client-certificate check complete"))
	}
}

// loadOffline reads, adapts and provisions a configuration. Provisioning
// opens no listener (the http app listens in Start), runs no admin
// endpoint, and manages no certificate (the tls app does that in Start).
// Before it, sanitizeOffline points storage at a temporary directory,
// discards logs and disables what would contact the network. The caller
// must call close.
func loadOffline(path, adapter string) (*offlineConfig, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if adapter == "" {
		// Caddy's own rule (caddycmd's isCaddyfile): a file named
		// Caddyfile* or *.caddyfile, in any case, that is not *.json.
		base := strings.ToLower(filepath.Base(path))
		if filepath.Ext(base) != ".json" && (strings.HasPrefix(base, "caddyfile") || strings.HasSuffix(base, ".caddyfile")) {
			adapter = "caddyfile"
		}
	}
	if adapter != "" && adapter != "json" {
		a := caddyconfig.GetAdapter(adapter)
		if a == nil {
			return nil, fmt.Errorf("unknown config adapter %q", adapter)
		}
		body, _, err = a.Adapt(body, map[string]any{"filename": path})
		if err != nil {
			return nil, fmt.Errorf("adapting %s: %v", path, err)
		}
	}
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(caddy.RemoveMetaFields(body)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || raw == nil {
		if err == nil {
			err = errors.New("not a JSON object")
		}
		return nil, fmt.Errorf("%s: decoding the JSON configuration: %v", path, err)
	}
	apps, _ := raw["apps"].(map[string]any)
	if _, ok := apps["http"].(map[string]any); !ok {
		return nil, fmt.Errorf("%s: the configuration has no http app (no site)", path)
	}
	oc := &offlineConfig{raw: raw}
	oc.storageDir, err = os.MkdirTemp("", "caddy-client-certificate-check-")
	if err != nil {
		return nil, err
	}
	if err := oc.sanitize(); err != nil {
		oc.close()
		return nil, err
	}
	cfgJSON, err := json.Marshal(raw)
	if err != nil {
		oc.close()
		return nil, err
	}
	var cfg *caddy.Config
	if err := caddy.StrictUnmarshalJSON(cfgJSON, &cfg); err != nil {
		oc.close()
		return nil, fmt.Errorf("%s: decoding the configuration: %v", path, err)
	}
	oc.storage = certmagic.Default.Storage
	ctx, err := caddy.ProvisionContext(cfg)
	oc.cfg = cfg // on error too: ProvisionContext has cancelled it, and close restores the storage
	if err != nil {
		oc.close()
		return nil, fmt.Errorf("%s: provisioning: %v", path, err)
	}
	oc.ctx = ctx
	app, err := ctx.AppIfConfigured("http")
	if err != nil {
		oc.close()
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	oc.http = app.(*caddyhttp.App)
	return oc, nil
}

// sanitize makes the configuration safe to provision offline: every
// storage (top-level, a CA's, an automation policy's) wrapped so that
// reads fall through to it and writes go to a temporary directory
// (checkstorage.go: what provisioning writes, such as the internal CA of a
// site with tls internal, goes there and is removed), logs discarded (so
// nothing is written and a log writer cannot open a connection), no admin
// endpoint, no OCSP stapling of the site's certificates, no active health
// checks (they start at provision), no OTLP exports; and it refuses trust
// pools fetched over HTTP, which load at provision.
func (oc *offlineConfig) sanitize() error {
	cfg := oc.raw
	if cfg["storage"] == nil {
		// Caddy's default storage, made explicit so that it is wrapped too.
		cfg["storage"] = map[string]any{"module": "file_system", "root": caddy.AppDataDir()}
	}
	// The default log keeps its writer (Caddy announces a change of
	// writer on the old one) but logs nothing below FATAL.
	cfg["logging"] = map[string]any{"logs": map[string]any{"default": map[string]any{"writer": map[string]any{"output": "stderr"}, "level": "FATAL"}}}
	delete(cfg, "admin")
	apps := cfg["apps"].(map[string]any)
	tlsApp, _ := apps["tls"].(map[string]any)
	if tlsApp == nil {
		tlsApp = map[string]any{}
		apps["tls"] = tlsApp
	}
	tlsApp["disable_ocsp_stapling"] = true
	if httpApp, _ := apps["http"].(map[string]any); httpApp != nil {
		if m, _ := httpApp["metrics"].(map[string]any); m != nil {
			delete(m, "otlp")
		}
	}
	return oc.walkRaw(cfg)
}

func (oc *offlineConfig) walkRaw(v any) error {
	switch v := v.(type) {
	case map[string]any:
		if st, _ := v["storage"].(map[string]any); st != nil {
			if mod, _ := st["module"].(string); mod != "" && mod != "client_certificate_check" {
				v["storage"] = oc.overlayStorage(st)
			}
		}
		switch {
		case v["handler"] == "reverse_proxy":
			if hc, _ := v["health_checks"].(map[string]any); hc != nil && hc["active"] != nil {
				delete(hc, "active")
				oc.note("reverse_proxy active health checks are not started (they would contact the upstreams)")
			}
		case v["handler"] == "tracing":
			for k := range v {
				delete(v, k)
			}
			v["handler"] = "vars"
			oc.note("tracing handlers are replaced by no-ops (they export spans over the network)")
		case v["provider"] == "http" && v["endpoints"] != nil:
			return errors.New("a trust pool is fetched over HTTP (provider http), which check does not do: it never uses the network")
		}
		for _, x := range v {
			if err := oc.walkRaw(x); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range v {
			if err := oc.walkRaw(x); err != nil {
				return err
			}
		}
	}
	return nil
}

// overlayStorage replaces a configured storage with check's
// (checkstorage.go): reads fall through to it when it is file_system,
// writes go to a directory under the temporary storage directory.
func (oc *offlineConfig) overlayStorage(st map[string]any) map[string]any {
	oc.overlays++
	out := map[string]any{"module": "client_certificate_check", "overlay": filepath.Join(oc.storageDir, strconv.Itoa(oc.overlays))}
	if st["module"] == "file_system" {
		root, _ := st["root"].(string)
		if root == "" {
			root = caddy.AppDataDir()
		}
		out["root"] = root
	} else {
		oc.note(fmt.Sprintf("the %v storage is not read (check contacts no storage service): provisioning starts from an empty one", st["module"]))
	}
	return out
}

func (oc *offlineConfig) note(n string) {
	if !slices.Contains(oc.notes, n) {
		oc.notes = append(oc.notes, n)
	}
}

// rawAt returns the value at a path of keys (string) and indexes (int) in
// the configuration as provisioned, or nil.
func (oc *offlineConfig) rawAt(path ...any) any {
	var v any = oc.raw
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[p]
		case int:
			s, _ := v.([]any)
			if p < 0 || p >= len(s) {
				return nil
			}
			v = s[p]
		}
	}
	return v
}

// checkReport is what check found; --json prints it.
type checkReport struct {
	Method      string         `json:"method"`
	URL         string         `json:"url"`
	SNI         string         `json:"sni"`
	At          string         `json:"at"`
	Certificate *presentedCert `json:"certificate"`
	Server      string         `json:"server"`
	Listen      []string       `json:"listen"`
	TLS         *tlsReport     `json:"tls"`
	Steps       []checkStep    `json:"steps"`
	// ClientCertificate lists every client_certificate verifier, matcher
	// and handler met, in order.
	ClientCertificate []*moduleCheck `json:"client_certificate"`
	Verdict           string         `json:"verdict"` // allowed or denied
	Reason            string         `json:"reason,omitempty"`
	DeniedBy          string         `json:"denied_by,omitempty"` // the module that denied, where
	Reaches           string         `json:"reaches,omitempty"`   // the handler that would answer an allowed request
	Answer            *answer        `json:"answer"`
	ExitStatus        int            `json:"exit_status"`
	Notes             []string       `json:"notes,omitempty"`
	// WouldDeny lists the report_only modules whose policy denies, which
	// Caddy does not enforce: "KIND at WHERE: REASON".
	WouldDeny []string `json:"would_deny,omitempty"`
}

type presentedCert struct {
	Subject    string `json:"subject"`
	Thumbprint string `json:"thumbprint"`
	Chain      int    `json:"chain"` // certificates presented after the leaf
}

type tlsReport struct {
	Policy          int                   `json:"connection_policy"`
	Policies        int                   `json:"connection_policies"`
	ClientAuth      string                `json:"client_auth"` // Caddy's mode: none, request, require, verify_if_given, require_and_verify
	CertificateSent bool                  `json:"certificate_sent"`
	Verification    string                `json:"verification"` // what the TLS layer's path validation found
	Verifiers       []string              `json:"verifiers,omitempty"`
	Refused         string                `json:"refused,omitempty"` // why the handshake fails
	verifiedChains  [][]*x509.Certificate // for the request
	policy          *caddytls.ConnectionPolicy
}

// checkStep is one thing met on the way, for humans: a route that matched
// or not, a handler, a client_certificate decision.
type checkStep struct {
	Kind   string       `json:"kind"` // tls, route, matcher, handler, verifier, errors
	Where  string       `json:"where,omitempty"`
	Text   string       `json:"text"`
	Module *moduleCheck `json:"-"`
}

// moduleCheck is the decision of one client_certificate module.
type moduleCheck struct {
	Kind     string `json:"kind"` // verifier, matcher, handler
	Where    string `json:"where"`
	Allowed  bool   `json:"allowed"`
	Reason   string `json:"reason,omitempty"`
	Identity string `json:"identity,omitempty"`
	Verified bool   `json:"verified"`
	// ReportOnly: the module has report_only; WouldDeny: its policy
	// denies, and Caddy lets the handshake or request go on (logging the
	// would-be denial at WARN), as check does.
	ReportOnly bool            `json:"report_only,omitempty"`
	WouldDeny  bool            `json:"would_deny,omitempty"`
	Steps      []explainedStep `json:"steps"`
}

// answer is what Caddy would answer.
type answer struct {
	Handshake string `json:"handshake,omitempty"` // "refused"
	Status    int    `json:"status,omitempty"`    // 0: not known offline (e.g. reverse_proxy)
	Body      string `json:"body,omitempty"`
	By        string `json:"by,omitempty"` // the handler that answers, and where
}

// runCheck runs check and returns its exit status: 0 when the request
// would reach a handler that answers it, 1 when it is denied (at the
// handshake, or by a handler or matcher's error), 2 on a usage or
// configuration error (one line on stderr).
func runCheck(o checkOptions, stdin io.Reader, stdout, stderr io.Writer) int {
	req, err := o.request(stdin)
	if err != nil {
		return usageError(stderr, "check", err)
	}
	offlineProvisioning.Store(true)
	defer offlineProvisioning.Store(false)
	oc, err := loadOffline(o.config, o.adapter)
	if err != nil {
		return usageError(stderr, "check", err)
	}
	defer oc.close()
	rep, err := oc.check(req)
	if err != nil {
		return usageError(stderr, "check", err)
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return usageError(stderr, "check", err)
		}
	} else if err := writeCheckText(stdout, rep); err != nil {
		return usageError(stderr, "check", err)
	}
	return rep.ExitStatus
}

// check simulates req against the provisioned configuration.
func (oc *offlineConfig) check(req *checkRequest) (rep *checkReport, err error) {
	defer func() {
		// A module from another plugin may not expect to be driven like
		// this; a panic is reported as one line, never as a stack trace.
		if v := recover(); v != nil {
			rep, err = nil, fmt.Errorf("simulating the request: %v", v)
		}
	}()
	rep = &checkReport{
		Method: req.method, URL: req.url.String(), SNI: req.sni, At: req.at.UTC().Format(time.RFC3339),
		ClientCertificate: []*moduleCheck{}, Steps: []checkStep{},
	}
	if len(req.peer) > 0 {
		rep.Certificate = &presentedCert{
			Subject:    displayName(req.peer[0].RawSubject),
			Thumbprint: fmt.Sprintf("%X", sha1.Sum(req.peer[0].Raw)),
			Chain:      len(req.peer) - 1,
		}
	}
	name, srv, err := oc.serverFor(req)
	if err != nil {
		return nil, err
	}
	rep.Server, rep.Listen = name, srv.Listen
	if err := oc.handshake(req, name, srv, rep); err != nil {
		return nil, err
	}
	rep.Notes = append(rep.Notes, oc.notes...)
	if rep.TLS.Refused != "" {
		rep.Verdict, rep.Reason = "denied", "handshake refused: "+rep.TLS.Refused
		rep.Answer = &answer{Handshake: "refused"}
		rep.ExitStatus = 1
		for _, m := range rep.ClientCertificate {
			if !m.Allowed && !m.WouldDeny {
				rep.DeniedBy = "client_certificate verifier at " + m.Where
				rep.Reason = m.Reason
			}
		}
		return rep, nil
	}
	if err := oc.serve(req, name, srv, rep); err != nil {
		return nil, err
	}
	for _, m := range rep.ClientCertificate {
		for _, s := range m.Steps {
			if s.Step == "revocation" && m.Allowed {
				rep.Notes = append(rep.Notes, "revocation is not checked offline: the "+m.Kind+" at "+m.Where+" has a revocation block, which a real request also passes through")
			}
		}
	}
	return rep, nil
}

// serverFor finds the server that listens on the URL's port (TCP), one
// whose listener address names the host first.
func (oc *offlineConfig) serverFor(req *checkRequest) (string, *caddyhttp.Server, error) {
	names := make([]string, 0, len(oc.http.Servers))
	for n := range oc.http.Servers {
		names = append(names, n)
	}
	sort.Strings(names)
	var fallback string
	var all []string
	for _, n := range names {
		srv := oc.http.Servers[n]
		for _, l := range srv.Listen {
			all = append(all, n+" on "+l)
			na, err := caddy.ParseNetworkAddress(l)
			if err != nil || na.IsUnixNetwork() || na.IsFdNetwork() || !strings.HasPrefix(na.Network, "tcp") {
				continue
			}
			if uint(req.port) < na.StartPort || uint(req.port) > na.EndPort {
				continue
			}
			if hostListens(na.Host, req.host) {
				return n, srv, nil
			}
			if na.Host == "" && fallback == "" {
				fallback = n
			}
		}
	}
	if fallback != "" {
		return fallback, oc.http.Servers[fallback], nil
	}
	return "", nil, fmt.Errorf("no server listens on port %d for %s (servers: %s)", req.port, req.host, strings.Join(all, ", "))
}

// hostListens reports whether a listener bound to listenHost ("" for all
// addresses) takes connections to host, without resolving names.
func hostListens(listenHost, host string) bool {
	if listenHost == "" || strings.EqualFold(listenHost, host) {
		return listenHost != ""
	}
	la, err := netip.ParseAddr(listenHost)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return la.IsLoopback()
	}
	ha, err := netip.ParseAddr(host)
	return err == nil && ha.Unmap() == la.Unmap()
}

// clientAuthModes names crypto/tls's modes as Caddy's client_auth does.
var clientAuthModes = map[tls.ClientAuthType]string{
	tls.NoClientCert:               "none",
	tls.RequestClientCert:          "request",
	tls.RequireAnyClientCert:       "require",
	tls.VerifyClientCertIfGiven:    "verify_if_given",
	tls.RequireAndVerifyClientCert: "require_and_verify",
}

// handshake does what the server side of a TLS handshake with this SNI
// would do with the client's certificate: pick the connection policy
// (Caddy's own GetConfigForClient), apply its client_auth mode, validate
// the path against its trust pool at the given time as crypto/tls does,
// and run its verifiers in order. The key proof (CertificateVerify) is
// assumed: check is about policies, not keys.
func (oc *offlineConfig) handshake(req *checkRequest, name string, srv *caddyhttp.Server, rep *checkReport) error {
	if len(srv.TLSConnPolicies) == 0 {
		return fmt.Errorf("server %s on port %d serves plain HTTP, not HTTPS", name, req.port)
	}
	cfg := srv.TLSConnPolicies.TLSConfig(oc.ctx)
	hello := &tls.ClientHelloInfo{
		ServerName:        req.sni,
		SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12},
		SupportedProtos:   []string{"h2", "http/1.1"},
		Conn: offlineConn{
			local:  &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: req.port},
			remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000},
		},
	}
	polCfg, err := cfg.GetConfigForClient(hello)
	if err != nil && strings.Contains(err.Error(), "dropping connection") {
		// The policy Caddy picked has drop (ConnectionPolicies.TLSConfig
		// returns this error): the handshake fails, as a refusal.
		t := &tlsReport{Policy: -1, Policies: len(srv.TLSConnPolicies)}
		var drops []string
		for i, p := range srv.TLSConnPolicies {
			if p.Drop {
				drops = append(drops, strconv.Itoa(i))
			}
		}
		if len(drops) == 1 {
			t.Policy, _ = strconv.Atoi(drops[0])
		}
		t.Verification = "not reached (the connection is dropped)"
		t.Refused = fmt.Sprintf("the TLS connection policy of server %s for SNI %q has drop (policies with drop: %s): Caddy drops the connection", name, req.sni, strings.Join(drops, ", "))
		rep.TLS = t
		rep.Steps = append(rep.Steps, checkStep{Kind: "tls", Where: name + ".tls_connection_policies", Text: t.Refused})
		return nil
	}
	if err != nil || polCfg == nil {
		return fmt.Errorf("no TLS connection policy of server %s (port %d) takes SNI %q: Caddy refuses every handshake for that host", name, req.port, req.sni)
	}
	t := &tlsReport{Policy: -1, Policies: len(srv.TLSConnPolicies)}
	rep.TLS = t
	for i, p := range srv.TLSConnPolicies {
		if p.TLSConfig == polCfg {
			t.Policy, t.policy = i, p
		}
	}
	mode := polCfg.ClientAuth
	t.ClientAuth = clientAuthModes[mode]
	where := fmt.Sprintf("%s.tls_connection_policies[%d]", name, t.Policy)
	presented := req.peer
	switch {
	case mode == tls.NoClientCert:
		presented = nil
		t.Verification = "no client certificate requested (no client_auth)"
	case len(presented) == 0:
		t.Verification = "no certificate presented"
		if mode == tls.RequireAnyClientCert || mode == tls.RequireAndVerifyClientCert {
			t.Refused = "client_auth mode " + t.ClientAuth + " requires a client certificate"
		}
	}
	t.CertificateSent = len(presented) > 0
	if t.CertificateSent {
		switch presented[0].PublicKey.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			t.Refused = "crypto/tls does not accept a client certificate with a " + presented[0].PublicKeyAlgorithm.String() + " key"
		}
	}
	if t.CertificateSent && t.Refused == "" {
		if mode >= tls.VerifyClientCertIfGiven {
			opts := x509.VerifyOptions{
				Roots:         polCfg.ClientCAs,
				CurrentTime:   req.at,
				Intermediates: x509.NewCertPool(),
				KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			}
			for _, c := range presented[1:] {
				opts.Intermediates.AddCert(c)
			}
			chains, err := presented[0].Verify(opts)
			if err != nil {
				t.Verification = "the chain does not verify against client_auth's trust pool: " + err.Error()
				t.Refused = "client_auth (" + t.ClientAuth + "): " + err.Error()
			} else {
				t.verifiedChains = chains
				t.Verification = "verified against client_auth's trust pool: " + chainText(chains[0])
			}
		} else {
			t.Verification = "not verified by the TLS layer (client_auth mode " + t.ClientAuth + ")"
		}
	}
	text := fmt.Sprintf("connection policy %d of %d for SNI %q: client_auth %s; %s", t.Policy, t.Policies, req.sni, t.ClientAuth, t.Verification)
	rep.Steps = append(rep.Steps, checkStep{Kind: "tls", Where: where, Text: text})
	if t.Refused != "" || !t.CertificateSent {
		return nil
	}
	// Verifiers run on a presented certificate (Caddy's verifyConnection
	// returns early without one), in order, the first error failing the
	// handshake.
	verifiers, names, paths, err := oc.verifiers(name, t.Policy, t.policy)
	if err != nil {
		return err
	}
	rawCerts := make([][]byte, len(presented))
	for i, c := range presented {
		rawCerts[i] = c.Raw
	}
	for i, v := range verifiers {
		vwhere := where + ".client_authentication." + paths[i]
		t.Verifiers = append(t.Verifiers, names[i])
		if ours, ok := v.(*Verifier); ok {
			mc := explainModule(&ours.Policy, "verifier", vwhere, presented, t.verifiedChains, req.at)
			mc.ReportOnly = ours.ReportOnly
			rep.ClientCertificate = append(rep.ClientCertificate, mc)
			rep.Steps = append(rep.Steps, checkStep{Kind: "verifier", Where: vwhere, Text: "client_certificate: " + mc.summary(), Module: mc})
			if !mc.Allowed && ours.ReportOnly {
				// Verifier.VerifyClientCertificate logs and returns nil.
				rep.wouldDeny(mc, "the handshake goes on")
				continue
			}
			if !mc.Allowed {
				t.Refused = "client_certificate verifier: " + mc.Reason
				return nil
			}
			continue
		}
		if err := v.VerifyClientCertificate(rawCerts, t.verifiedChains); err != nil {
			t.Refused = names[i] + " verifier: " + oneLine(err.Error())
			rep.Steps = append(rep.Steps, checkStep{Kind: "verifier", Where: vwhere, Text: names[i] + ": refuses: " + oneLine(err.Error())})
			return nil
		}
		rep.Steps = append(rep.Steps, checkStep{Kind: "verifier", Where: vwhere, Text: names[i] + ": passes"})
	}
	return nil
}

// verifiers loads the verifiers of a connection policy afresh from the
// configuration (Caddy keeps the provisioned ones unexported), in Caddy's
// order: the deprecated trusted_leaf_certs first (Caddy 2.11's
// ConnectionPolicies.Provision appends its leaf verifier while building the
// policy's TLS configuration, before it loads the configured verifiers),
// then those configured. It returns them with their names and their paths
// under client_authentication.
func (oc *offlineConfig) verifiers(server string, index int, pol *caddytls.ConnectionPolicy) ([]caddytls.ClientCertificateVerifier, []string, []string, error) {
	var out []caddytls.ClientCertificateVerifier
	var names, paths []string
	var leaves *caddytls.ClientAuthentication
	if pol != nil {
		leaves = pol.ClientAuthentication
	}
	//lint:ignore SA1019 Caddy still honours the deprecated field, so check must
	if leaves != nil && len(leaves.TrustedLeafCerts) > 0 {
		//lint:ignore SA1019 see above
		v, err := trustedLeafCerts(leaves.TrustedLeafCerts)
		if err != nil {
			return nil, nil, nil, err
		}
		out, names, paths = append(out, v), append(names, "trusted_leaf_certs"), append(paths, "trusted_leaf_certs")
	}
	raws, _ := oc.rawAt("apps", "http", "servers", server, "tls_connection_policies", index, "client_authentication", "verifiers").([]any)
	for i, r := range raws {
		m, _ := r.(map[string]any)
		name, _ := m["verifier"].(string)
		body := make(map[string]any, len(m))
		for k, v := range m {
			if k != "verifier" {
				body[k] = v
			}
		}
		js, err := json.Marshal(body)
		if err != nil {
			return nil, nil, nil, err
		}
		mod, err := oc.ctx.LoadModuleByID("tls.client_auth.verifier."+name, js)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("loading verifier %d (%s): %v", i, name, err)
		}
		v, ok := mod.(caddytls.ClientCertificateVerifier)
		if !ok {
			return nil, nil, nil, fmt.Errorf("verifier %d (%s) is not a client certificate verifier", i, name)
		}
		out, names, paths = append(out, v), append(names, name), append(paths, fmt.Sprintf("verifiers[%d]", i))
	}
	return out, names, paths, nil
}

// trustedLeafVerifier is what Caddy makes of the deprecated
// trusted_leaf_certs: the presented leaf must be one of them.
type trustedLeafVerifier []*x509.Certificate

func trustedLeafCerts(b64 []string) (trustedLeafVerifier, error) {
	var out trustedLeafVerifier
	for _, s := range b64 {
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("trusted_leaf_certs: %v", err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("trusted_leaf_certs: %v", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// VerifyClientCertificate is LeafCertClientAuth's.
func (l trustedLeafVerifier) VerifyClientCertificate(rawCerts [][]byte, _ [][]*x509.Certificate) error {
	if len(rawCerts) > 0 {
		for _, c := range l {
			if bytes.Equal(c.Raw, rawCerts[0]) {
				return nil
			}
		}
	}
	return errors.New("client leaf certificate failed validation")
}

// offlineConn stands for the client's connection in a ClientHelloInfo:
// handshake matchers read its addresses (remote_ip, local_ip).
type offlineConn struct {
	net.Conn
	local, remote net.Addr
}

func (c offlineConn) LocalAddr() net.Addr  { return c.local }
func (c offlineConn) RemoteAddr() net.Addr { return c.remote }

// explainModule decides with a client_certificate module's policy and
// describes the decision.
func explainModule(p *Policy, kind, where string, peer []*x509.Certificate, verifiedChains [][]*x509.Certificate, t time.Time) *moduleCheck {
	ex := p.explainAt(peer, verifiedChains, t)
	return moduleFromExplanation(kind, where, ex)
}

func moduleFromExplanation(kind, where string, ex explanation) *moduleCheck {
	d := ex.Decision
	return &moduleCheck{Kind: kind, Where: where, Allowed: d.Allowed, Reason: d.Reason, Identity: d.Identity, Verified: d.Verified, Steps: ex.Steps}
}

// wouldDeny records a report_only module's denial, which Caddy does not
// enforce: it logs it at WARN and lets the handshake or request go on.
func (rep *checkReport) wouldDeny(m *moduleCheck, goesOn string) {
	m.WouldDeny = true
	rep.WouldDeny = append(rep.WouldDeny, m.Kind+" at "+m.Where+": "+m.Reason)
	rep.Notes = append(rep.Notes, "report_only: the client_certificate "+m.Kind+" at "+m.Where+" would deny ("+m.Reason+"); Caddy does not enforce it ("+goesOn+", the would-be denial is logged at WARN)")
}

func (m *moduleCheck) summary() string {
	if m.WouldDeny || (!m.Allowed && m.ReportOnly) {
		return "would deny (report_only, not enforced): " + m.Reason
	}
	if m.Allowed {
		if m.Identity != "" {
			return "allowed, identity " + m.Identity
		}
		return "allowed"
	}
	return "denied: " + m.Reason
}

// serve builds the request as Caddy would hand it to the routes and walks
// them (checkroutes.go).
func (oc *offlineConfig) serve(req *checkRequest, name string, srv *caddyhttp.Server, rep *checkReport) error {
	r, err := http.NewRequest(req.method, req.url.String(), nil)
	if err != nil {
		return err
	}
	r.RequestURI = req.url.RequestURI()
	r.Host = req.url.Host
	r.RemoteAddr = "127.0.0.1:50000"
	r.Header.Set("User-Agent", "caddy-client-certificate-check")
	r.Header.Set("Accept", "*/*")
	cs := &tls.ConnectionState{
		Version:            tls.VersionTLS13,
		HandshakeComplete:  true,
		CipherSuite:        tls.TLS_AES_128_GCM_SHA256,
		NegotiatedProtocol: "http/1.1",
		ServerName:         req.sni,
		VerifiedChains:     rep.TLS.verifiedChains,
	}
	if rep.TLS.CertificateSent {
		cs.PeerCertificates = req.peer
	}
	r.TLS = cs
	repl := caddy.NewReplacer()
	w := httptest.NewRecorder()
	r = caddyhttp.PrepareRequest(r, repl, w, srv)
	wk := &routeWalker{oc: oc, rep: rep, srv: srv, at: req.at, groups: map[string]struct{}{}}
	return wk.serve(r, name)
}

func writeCheckText(out io.Writer, rep *checkReport) error {
	w := &errWriter{w: out}
	row := func(label, format string, args ...any) {
		w.printf("%-12s %s\n", label, fmt.Sprintf(format, args...))
	}
	row("request", "%s %s (SNI %q) at %s", rep.Method, rep.URL, rep.SNI, rep.At)
	if c := rep.Certificate; c != nil {
		chain := ""
		if c.Chain > 0 {
			chain = fmt.Sprintf(", and %d more certificate(s) of its chain", c.Chain)
		}
		row("certificate", "%s (SHA-1 %s)%s", c.Subject, c.Thumbprint, chain)
	} else {
		row("certificate", "none")
	}
	row("server", "%s (listens on %s)", rep.Server, strings.Join(rep.Listen, ", "))
	for _, s := range rep.Steps {
		text := s.Text
		if s.Where != "" {
			text = s.Where + ": " + text
		}
		row(s.Kind, "%s", text)
		if s.Module != nil {
			for _, st := range s.Module.Steps {
				label := st.Step
				if st.Step == "identity" {
					label = "identity " + st.Name
				}
				line := label + ": " + st.Result
				if st.Detail != "" {
					line += ": " + st.Detail
				}
				w.printf("%-12s   %s\n", "", line)
				for _, c := range st.Conditions {
					w.printf("%-12s     %s\n", "", c.String())
				}
			}
		}
	}
	if a := rep.Answer; a != nil {
		switch {
		case a.Handshake != "":
			row("answer", "the TLS handshake fails")
		case a.Status != 0:
			body := a.Body
			if len(body) > 200 {
				body = body[:200] + "…"
			}
			row("answer", "%d %s (%s)", a.Status, strconv.Quote(body), a.By)
		default:
			row("answer", "from %s (not run offline)", a.By)
		}
	}
	for _, n := range rep.Notes {
		row("note", "%s", n)
	}
	switch {
	case rep.Verdict == "allowed" && rep.Reaches != "":
		w.printf("result: allowed: the request reaches %s\n", rep.Reaches)
	case rep.Verdict == "allowed":
		w.printf("result: allowed\n")
	case rep.DeniedBy != "":
		w.printf("result: denied (%s) by %s\n", rep.Reason, rep.DeniedBy)
	default:
		w.printf("result: denied: %s\n", rep.Reason)
	}
	return w.err
}
