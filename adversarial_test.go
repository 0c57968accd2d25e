// adversarial_test.go: the adversarial suite against a real in-process
// Caddy: forged chains, DN tricks, odd certificates, expiry on keep-alive,
// plain HTTP, SNI/Host, HTTP/3, 0-RTT and session resumption.

package clientcertificate_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// The adversarial suite: forged and odd certificates, DN string tricks,
// expiry on keep-alive connections, plain HTTP, SNI/Host mismatch, HTTP/3,
// TLS 1.3 early data and session resumption, all against a real in-process
// Caddy with real handshakes (TCP and QUIC) and a PKI generated at test time.
//
// Every case names the decision it expects from the handler, the matcher
// and the verifier, under client_auth "mode request" (the policy's own
// trust_pool verifies), "verify_if_given" and "require_and_verify" (the TLS
// layer verifies). Outcomes are written as the client sees them:
//
//	"200 allow"        handler allowed
//	"403 denied <r>"   handler denied with reason r (via handle_errors)
//	"200 match"        matcher matched; "200 nomatch" it did not
//	"200 verifier ok"  the verifier admitted the handshake
//	"handshake"        the TLS handshake was refused (verifier or TLS layer)

// hangGuard bounds every request. It is a guard against hangs only, not a
// performance assertion: the machine running the tests may be loaded.
const hangGuard = 20 * time.Second

// ---------------------------------------------------------------------------
// PKI

// advPKI is the standard test PKI plus the certificates only this suite uses.
type advPKI struct {
	set *testpki.Set
	// server serves localhost, open.localhost, guarded.localhost, 127.0.0.1
	// and ::1 (signed by set.Root).
	server *testpki.Leaf
	// certs are extra client certificates by name (see buildAdversarialPKI).
	certs map[string]*testpki.Leaf
}

var adversarialPKI = sync.OnceValues(buildAdversarialPKI)

var (
	oidC  = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidL  = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// nameAttr is one attribute of a hand-built DER Name.
type nameAttr struct {
	oid asn1.ObjectIdentifier
	tag int // ASN.1 string type
	val string
}

func utf8Attr(oid asn1.ObjectIdentifier, v string) nameAttr {
	return nameAttr{oid, asn1.TagUTF8String, v}
}

func printableAttr(oid asn1.ObjectIdentifier, v string) nameAttr {
	return nameAttr{oid, asn1.TagPrintableString, v}
}

// rawName encodes RDNs (ASN.1 order: most significant first) verbatim, so
// that multi-valued RDNs, attribute order, duplicates, NUL bytes and string
// types are exactly as written.
func rawName(rdns ...[]nameAttr) []byte {
	var seq pkix.RDNSequence
	for _, rdn := range rdns {
		var set pkix.RelativeDistinguishedNameSET
		for _, a := range rdn {
			var b []byte
			switch a.tag {
			case asn1.TagBMPString:
				for _, u := range utf16.Encode([]rune(a.val)) {
					b = binary.BigEndian.AppendUint16(b, u)
				}
			default:
				b = []byte(a.val)
			}
			set = append(set, pkix.AttributeTypeAndValue{Type: a.oid, Value: asn1.RawValue{Tag: a.tag, Bytes: b}})
		}
		seq = append(seq, set)
	}
	der, err := asn1.Marshal(seq)
	if err != nil {
		panic(err)
	}
	return der
}

func one(a nameAttr) []nameAttr { return []nameAttr{a} }

// goodName is the subject of testpki's Good certificate.
var goodName = pkix.Name{
	CommonName: "station-042", OrganizationalUnit: []string{"Stations"},
	Organization: []string{"Contoso Weather"}, Country: []string{"US"},
}

func buildAdversarialPKI() (*advPKI, error) {
	set, err := integrationPKI()
	if err != nil {
		return nil, err
	}
	p := &advPKI{set: set, certs: map[string]*testpki.Leaf{}}
	var firstErr error
	keep := func(name string) func(*testpki.Leaf, error) *testpki.Leaf {
		return func(l *testpki.Leaf, err error) *testpki.Leaf {
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", name, err)
			}
			if l != nil && name != "" {
				p.certs[name] = l
			}
			return l
		}
	}
	inter := set.Intermediate

	p.server = keep("")(set.Root.Issue(testpki.Options{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost", "open.localhost", "guarded.localhost"},
		IPs:         []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}))

	// DN tricks, all genuinely issued by the real intermediate.
	c, o, ou, cn := printableAttr(oidC, "US"), utf8Attr(oidO, "Contoso Weather"), utf8Attr(oidOU, "Stations"), utf8Attr(oidCN, "station-042")
	dn := func(name string, rdns ...[]nameAttr) {
		keep(name)(inter.Issue(testpki.Options{RawSubject: rawName(rdns...)}))
	}
	dn("dn-comma", one(c), one(o), one(utf8Attr(oidCN, "station-042,OU=Stations")))
	dn("dn-plus", one(c), one(o), one(utf8Attr(oidCN, "station-042+OU=Stations")))
	dn("dn-multivalued", one(c), one(o), []nameAttr{cn, ou})
	dn("dn-equals", one(c), one(o), one(ou), one(utf8Attr(oidCN, "CN=station-042")))
	dn("dn-quotes", one(c), one(o), one(ou), one(utf8Attr(oidCN, `"station-042"`)))
	dn("dn-nul", one(c), one(o), one(ou), one(utf8Attr(oidCN, "station-042\x00.evil.example")))
	dn("dn-nul-trailing", one(c), one(o), one(ou), one(utf8Attr(oidCN, "station-042\x00")))
	// Spaces and line breaks that must not fold into station-042: control
	// characters make a name match nothing, other spaces are data.
	dn("dn-cn-crlf", one(c), one(o), one(ou), one(utf8Attr(oidCN, "station-042\r\n")))
	dn("dn-cn-vtff", one(c), one(o), one(ou), one(utf8Attr(oidCN, "\v\fstation-042")))
	dn("dn-cn-nel", one(c), one(o), one(ou), one(utf8Attr(oidCN, "station-042\u0085")))
	dn("dn-cn-nbsp", one(c), one(o), one(ou), one(utf8Attr(oidCN, "station-042\u00a0")))
	dn("dn-cn-ideographic", one(c), one(o), one(ou), one(utf8Attr(oidCN, "\u3000station-042")))
	dn("dn-cn-bmp-nul", one(c), one(o), one(ou), one(nameAttr{oidCN, asn1.TagBMPString, "station-042\x00"}))
	dn("dn-spaces", one(c), one(o), one(ou), one(utf8Attr(oidCN, "  station-042  ")))
	dn("dn-case", one(printableAttr(oidC, "us")), one(utf8Attr(oidO, "CONTOSO WEATHER")), one(utf8Attr(oidOU, "STATIONS")), one(utf8Attr(oidCN, "STATION-042")))
	dn("dn-cyrillic-cn", one(c), one(o), one(ou), one(utf8Attr(oidCN, "st\u0430tion-042")))    // U+0430 CYRILLIC SMALL LETTER A
	dn("dn-cyrillic-o", one(c), one(utf8Attr(oidO, "\u0421ontoso Weather")), one(ou), one(cn)) // U+0421 CYRILLIC CAPITAL LETTER ES
	dn("dn-reversed", one(cn), one(ou), one(o), one(c))
	dn("dn-dup-cn", one(c), one(o), one(ou), one(cn), one(cn))
	dn("dn-dup-cn-other", one(c), one(o), one(ou), one(cn), one(utf8Attr(oidCN, "station-007")))
	dn("dn-dup-ou", one(c), one(o), one(ou), one(utf8Attr(oidOU, "Admins")), one(cn))
	dn("dn-bmp", one(c), one(nameAttr{oidO, asn1.TagT61String, "Contoso Weather"}), one(nameAttr{oidOU, asn1.TagBMPString, "Stations"}), one(nameAttr{oidCN, asn1.TagBMPString, "station-042"}))
	dn("dn-extra-rdn", one(c), one(o), one(ou), one(cn), one(utf8Attr(oidL, "Nowhere")))
	dn("dn-missing-c", one(o), one(ou), one(cn))
	// An O as a T61String holding the UTF-8 bytes of "Zürich Wetter" (.NET
	// shows it as such; the plugin reads T61String as Latin-1), and an O
	// as a UTF8String of what those bytes read as Latin-1.
	dn("dn-t61-utf8", one(c), one(nameAttr{oidO, asn1.TagT61String, "Z\xc3\xbcrich Wetter"}), one(ou), one(cn))
	dn("dn-mojibake", one(c), one(utf8Attr(oidO, "Z\u00c3\u00bcrich Wetter")), one(ou), one(cn))
	// SPIFFE IDs that must not stretch a uri prefix.
	uri := func(name, id string) {
		keep(name)(inter.Issue(testpki.Options{Subject: goodName, URIs: []string{id}}))
	}
	uri("uri-spiffe", "spiffe://contoso-weather.example/stations/042")
	uri("uri-dotdot", "spiffe://contoso-weather.example/stations/..%2fadmin")
	uri("uri-empty-segment", "spiffe://contoso-weather.example/stations//admin")
	uri("uri-query", "spiffe://contoso-weather.example/stations/042?role=admin")
	// DNS SANs that must not stretch a wildcard: IA5String allows any
	// ASCII byte, so a CA may well have issued them.
	dnsSAN := func(name, san string) {
		keep(name)(inter.Issue(testpki.Options{Subject: goodName, DNSNames: []string{san}}))
	}
	dnsSAN("dns-label", "station-042.stations.example")
	dnsSAN("dns-label-space", "station 042.stations.example")
	dnsSAN("dns-label-nul", "station-042\x00.stations.example")
	dnsSAN("dns-label-underscore", "station_042.stations.example")
	dnsSAN("dns-two-labels", "a.station-042.stations.example")

	// Odd certificates with Good's subject.
	good := testpki.Options{Subject: goodName}
	with := func(f func(*testpki.Options)) testpki.Options { o := good; f(&o); return o }
	keep("eku-none")(inter.Issue(with(func(o *testpki.Options) { o.ExtKeyUsage = []x509.ExtKeyUsage{} })))
	keep("eku-any")(inter.Issue(with(func(o *testpki.Options) { o.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageAny} })))
	keep("eku-codesigning")(inter.Issue(with(func(o *testpki.Options) { o.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning} })))
	keep("ca-leaf")(inter.Issue(with(func(o *testpki.Options) { o.IsCA = true })))
	names := make([]string, 5000)
	for i := range names {
		names[i] = fmt.Sprintf("n%04d.bulk.example", i)
	}
	keep("sans-5000")(inter.Issue(with(func(o *testpki.Options) { o.DNSNames = names })))

	// Long chains below the real root: Root -> Deep CA 1 -> ... -> Deep CA n -> leaf.
	deep := func(n int) *testpki.CA {
		ca := set.Root
		for i := 1; i <= n && firstErr == nil; i++ {
			next, err := ca.NewIntermediate(pkix.Name{CommonName: fmt.Sprintf("Deep CA %d", i), Organization: []string{"Contoso Weather"}})
			if err != nil {
				firstErr = err
				return nil
			}
			ca = next
		}
		return ca
	}
	if ca := deep(3); ca != nil {
		keep("chain-3")(ca.Issue(good))
	}
	if ca := deep(20); ca != nil {
		chain20 := keep("chain-20")(ca.Issue(good))
		// A rogue CA copying Deep CA 20's DN signs a leaf that presents the
		// real 20 intermediates.
		rogue, err := testpki.NewRootWithOptions(testpki.Options{RawSubject: ca.Cert.RawSubject})
		if err == nil {
			if l := keep("chain-20-rogue-leaf")(rogue.Issue(good)); l != nil && chain20 != nil {
				l.Chain = chain20.Chain
			}
		} else if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return p, nil
}

// advFiles is pkiFiles plus this suite's server certificate and a pool
// holding both the real and the unrelated (Fabrikam) root.
type advFiles struct {
	pkiFiles
	pki *advPKI
}

func writeAdvPKI(t *testing.T) advFiles {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts Caddy")
	}
	p, err := adversarialPKI()
	if err != nil {
		t.Fatal(err)
	}
	f := advFiles{pkiFiles: writePKI(t), pki: p}
	for name, data := range map[string][]byte{
		"adv-server.pem":     p.server.CertPEM(),
		"adv-server-key.pem": p.server.KeyPEM(),
		"both-roots.pem":     append(p.set.Root.CertPEM(), p.set.OtherRoot.CertPEM()...),
	} {
		if err := testpki.WriteFile(f.path(name), data); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// leaf returns a client certificate by name: the standard ones of
// clientLeaves, then this suite's; "none" is nil.
func (f advFiles) leaf(t *testing.T, name string) *testpki.Leaf {
	t.Helper()
	if l, ok := clientLeaves(f.set)[name]; ok {
		return l
	}
	if l, ok := f.pki.certs[name]; ok {
		return l
	}
	t.Fatalf("no client certificate %q", name)
	return nil
}

// ---------------------------------------------------------------------------
// Ports and Caddy

var (
	advPortsMu sync.Mutex
	advPorts   = map[string]int{}
	advUsed    = map[int]bool{}
)

// advPort returns a port free for TCP and UDP on this machine, the same
// for a name for the whole process, never one of integration_test.go's
// remapped ports, and below the ephemeral port range when it is known.
func advPort(t *testing.T, name string) int {
	t.Helper()
	advPortsMu.Lock()
	defer advPortsMu.Unlock()
	if p, ok := advPorts[name]; ok {
		return p
	}
	if len(advUsed) == 0 {
		for _, sym := range symbolicPorts {
			p, _ := strconv.Atoi(strings.TrimPrefix(remap(":"+sym), ":"))
			advUsed[p] = true
		}
	}
	p, err := pickFreePort(advUsed)
	if err != nil {
		t.Fatal(err)
	}
	advUsed[p] = true
	advPorts[name] = p
	return p
}

// adminAddr is the in-process Caddy's admin address (see newTester).
func adminAddr() string { return "localhost" + remap(":2999") }

// loadCaddyfile loads a config into the in-process Caddy and fails the test
// now if it did not load.
func loadCaddyfile(t *testing.T, cfg string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts Caddy")
	}
	newTester(t).InitServer(cfg, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
}

func globalOptions() string {
	return fmt.Sprintf(`{
	admin %s
	skip_install_trust
	auto_https disable_redirects
}
`, adminAddr())
}

// tlsDirective is the site's tls directive with this suite's server
// certificate; clientAuth is the body of client_auth, or "" for none.
func (f advFiles) tlsDirective(clientAuth string) string {
	if clientAuth == "" {
		return fmt.Sprintf("tls %s %s\n", f.path("adv-server.pem"), f.path("adv-server-key.pem"))
	}
	return fmt.Sprintf("tls %s %s {\n\tclient_auth {\n%s\n\t}\n}\n", f.path("adv-server.pem"), f.path("adv-server-key.pem"), clientAuth)
}

const handleErrors = `
handle_errors {
	respond "denied {http.client_certificate.reason}" {err.status_code}
}
`

// handlerRoute protects path with a handler holding policy; allowed
// requests get "allow".
func handlerRoute(path, policy string) string {
	return fmt.Sprintf("handle %s {\n\tclient_certificate {\n%s\n\t}\n\trespond \"allow\"\n}\n", path, policy)
}

// matcherRoute answers "match" or "nomatch" on path.
func matcherRoute(path, matcherName, policy string) string {
	return fmt.Sprintf("handle %s {\n\t@%s client_certificate {\n%s\n\t}\n\trespond @%s \"match\"\n\trespond \"nomatch\"\n}\n", path, matcherName, policy, matcherName)
}

// ---------------------------------------------------------------------------
// Clients

// advClient makes requests over one protocol ("h1", "h2" or "h3") with one
// client certificate, always sent when the server asks (or, for "none", an
// empty certificate list). Every connection is dialled to 127.0.0.1 on the
// URL's port whatever the URL's host, so SNI and Host can name any site.
type advClient struct {
	t      *testing.T
	proto  string
	dials  atomic.Int32
	client *http.Client
	close  func()

	mu         sync.Mutex
	lastReused bool
	quicConns  []*quic.Conn
}

type clientOpts struct {
	leaf       *testpki.Leaf
	sni        string // default "localhost"
	keepAlive  bool
	cache      tls.ClientSessionCache
	holdFinish time.Duration // h3: hold the client's packets this long after the first one received (see holdingPacketConn)
}

func newAdvClient(t *testing.T, f advFiles, proto string, o clientOpts) *advClient {
	t.Helper()
	c := &advClient{t: t, proto: proto}
	sni := o.sni
	if sni == "" {
		sni = "localhost"
	}
	cfg := &tls.Config{RootCAs: testpki.Pool(f.set.Root), ServerName: sni, ClientSessionCache: o.cache}
	if o.leaf != nil {
		cert := o.leaf.TLSCertificate()
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	portOf := func(addr string) string {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Errorf("address %q: %v", addr, err)
		}
		return port
	}
	switch proto {
	case "h1", "h2":
		cfg.NextProtos = []string{"http/1.1"}
		if proto == "h2" {
			cfg.NextProtos = []string{"h2"}
		}
		tr := &http.Transport{
			TLSClientConfig:   cfg,
			ForceAttemptHTTP2: proto == "h2",
			DisableKeepAlives: !o.keepAlive,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c.dials.Add(1)
				var d net.Dialer
				return d.DialContext(ctx, "tcp", "127.0.0.1:"+portOf(addr))
			},
		}
		c.client = &http.Client{Transport: tr, Timeout: hangGuard}
		c.close = tr.CloseIdleConnections
	case "h3":
		udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		var pc net.PacketConn = udp
		if o.holdFinish > 0 {
			// 0-RTT: also gate the server's first packets until the request
			// is out, around quic-go#4303 (see gatedPacketConn).
			pc = &gatedPacketConn{PacketConn: &holdingPacketConn{PacketConn: udp, hold: o.holdFinish}}
		}
		qtr := &quic.Transport{Conn: pc}
		h3 := &http3.Transport{
			TLSClientConfig: cfg,
			QUICConfig:      &quic.Config{HandshakeIdleTimeout: hangGuard, MaxIdleTimeout: time.Minute},
			Dial: func(ctx context.Context, addr string, tlsCfg *tls.Config, qcfg *quic.Config) (*quic.Conn, error) {
				c.dials.Add(1)
				p, _ := strconv.Atoi(portOf(addr))
				conn, err := qtr.DialEarly(ctx, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p}, tlsCfg, qcfg)
				if conn != nil {
					c.mu.Lock()
					c.quicConns = append(c.quicConns, conn)
					c.mu.Unlock()
				}
				return conn, err
			},
		}
		c.client = &http.Client{Transport: h3, Timeout: hangGuard}
		c.close = func() {
			h3.Close()
			qtr.Close()
			udp.Close()
		}
	default:
		t.Fatalf("unknown protocol %q", proto)
	}
	t.Cleanup(c.close)
	return c
}

// do makes one request and returns "status body" or "handshake" (the TLS
// or QUIC handshake was refused). host, if not empty, overrides the Host
// header (:authority). It fails the test on anything that is not a refused
// handshake: a hang, a refused connection, a server certificate the client
// rejects.
func (c *advClient) do(method, url, host string) string {
	c.t.Helper()
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			c.mu.Lock()
			c.lastReused = info.Reused
			c.mu.Unlock()
		},
	})
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	start := time.Now()
	resp, err := c.client.Do(req)
	if took := time.Since(start); took > hangGuard {
		c.t.Errorf("hang guard: %s %s took %v", c.proto, url, took)
	}
	if err != nil {
		var certErr *tls.CertificateVerificationError
		var netErr net.Error
		switch {
		case errors.As(err, &certErr):
			c.t.Fatalf("client rejected the server certificate: %v", err)
		case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout(),
			strings.Contains(err.Error(), "connection refused"), strings.Contains(err.Error(), "timeout"):
			c.t.Fatalf("%s %s: not a refused handshake: %v", c.proto, url, err)
		}
		if !isRefusedHandshake(err) {
			c.t.Fatalf("%s %s: unexpected error: %v", c.proto, url, err)
		}
		return "handshake"
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("reading the body: %v", err)
	}
	if want := map[string]int{"h1": 1, "h2": 2, "h3": 3}[c.proto]; resp.ProtoMajor != want {
		c.t.Fatalf("wanted %s, got %s", c.proto, resp.Proto)
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

// isRefusedHandshake reports whether err is the server refusing the
// handshake: a TLS alert (TCP) or a QUIC CRYPTO_ERROR carrying one. In TLS
// 1.3 the client learns of a refused certificate only when it next reads,
// and the server's close may reset the connection before the alert is
// read, hence the connection errors; Go's HTTP/2 client reports a failure
// while reading the server's first frames as "could not be established"
// without the alert.
func isRefusedHandshake(err error) bool {
	for _, s := range []string{"remote error: tls:", "CRYPTO_ERROR", "connection reset by peer", "broken pipe", "EOF",
		"http2: client conn could not be established"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

func (c *advClient) get(url string) string { c.t.Helper(); return c.do(http.MethodGet, url, "") }

func (c *advClient) reused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastReused
}

// once makes one request on a new connection.
func once(t *testing.T, f advFiles, proto, client, url string) string {
	t.Helper()
	c := newAdvClient(t, f, proto, clientOpts{leaf: f.leaf(t, client)})
	defer c.close()
	return c.get(url)
}

// holdingPacketConn delays the client's packets sent in the first moments
// after it first hears from the server: its TLS Finished among them. The
// server then handles 0-RTT requests before the handshake completes,
// deterministically, even on loopback where the Finished would otherwise
// arrive within microseconds.
type holdingPacketConn struct {
	net.PacketConn
	hold time.Duration

	mu        sync.Mutex
	firstRead time.Time
}

func (c *holdingPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(b)
	if err == nil {
		c.mu.Lock()
		if c.firstRead.IsZero() {
			c.firstRead = time.Now()
		}
		c.mu.Unlock()
	}
	return n, addr, err
}

func (c *holdingPacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	first := c.firstRead
	c.mu.Unlock()
	if !first.IsZero() {
		time.Sleep(time.Until(first.Add(c.hold)))
	}
	return c.PacketConn.WriteTo(b, addr)
}

// ---------------------------------------------------------------------------
// Forged certificates: rogue CA, self-signed, untrusted CA, rogue chain,
// wrong EKU, CA as client, expired, not yet valid.

const (
	goodSubjectLine = `subject "CN=station-042,OU=Stations,O=Contoso Weather,C=US"`
	issuerLine      = `issuer "CN=Contoso Weather Issuing CA,O=Contoso Weather,C=US"`
	goodCNLine      = `common_name station-042`
)

// forgeryCaddyfile serves:
//
//	R   client_auth mode request: the policies verify with their own trust_pool
//	V   verify_if_given, the site trusting the real root AND Fabrikam's
//	Q   require_and_verify, the site trusting both roots, verifier with its own trust_pool (real root only)
//	Q2  verify_if_given, the site trusting the real root, verifier without trust_pool
//
// and, for the policy matrix, one handler and one matcher route per policy
// on R and V, and one require_and_verify site per policy with the verifier.
func forgeryCaddyfile(t *testing.T, f advFiles) string {
	root, both := f.path("root.pem"), f.path("both-roots.pem")
	pool := "trust_pool file " + root
	var b strings.Builder
	b.WriteString(globalOptions())

	fmt.Fprintf(&b, "https://localhost:%d {\n%s", advPort(t, "R"), f.tlsDirective("mode request"))
	b.WriteString(handlerRoute("/h/pool", pool+"\n"+goodSubjectLine+"\n"+issuerLine))
	b.WriteString(handlerRoute("/h/issuer-thumbprint", pool+"\nissuer_thumbprint "+sha1Of(f.set.Intermediate.Cert)+"\n"+goodCNLine))
	b.WriteString(matcherRoute("/m/pool", "pool", pool+"\n"+goodCNLine))
	b.WriteString(matcherRoute("/m/names", "names", goodCNLine))
	for i, p := range matrixPolicies(f) {
		b.WriteString(handlerRoute("/p/h/"+p.name, pool+"\n"+p.body))
		b.WriteString(matcherRoute("/p/m/"+p.name, fmt.Sprintf("p%d", i), pool+"\n"+p.body))
	}
	b.WriteString(handleErrors + "}\n")

	fmt.Fprintf(&b, "https://localhost:%d {\n%s", advPort(t, "V"), f.tlsDirective("mode verify_if_given\ntrust_pool file "+both))
	b.WriteString(handlerRoute("/h/names", goodSubjectLine))
	b.WriteString(handlerRoute("/h/pool", pool+"\n"+goodSubjectLine))
	b.WriteString(handlerRoute("/h/issuer", goodSubjectLine+"\n"+issuerLine))
	b.WriteString(matcherRoute("/m/names", "names", goodCNLine))
	b.WriteString(matcherRoute("/m/pool", "pool", pool+"\n"+goodCNLine))
	for i, p := range matrixPolicies(f) {
		b.WriteString(handlerRoute("/p/h/"+p.name, p.body))
		b.WriteString(matcherRoute("/p/m/"+p.name, fmt.Sprintf("p%d", i), p.body))
	}
	b.WriteString(handleErrors + "}\n")

	fmt.Fprintf(&b, "https://localhost:%d {\n%srespond \"verifier ok\"\n}\n", advPort(t, "Q"), f.tlsDirective(fmt.Sprintf(
		"mode require_and_verify\ntrust_pool file %s\nverifier client_certificate {\n%s\nrequire_unexpired\n%s\n}", both, pool, goodSubjectLine)))
	fmt.Fprintf(&b, "https://localhost:%d {\n%srespond \"verifier ok\"\n}\n", advPort(t, "Q2"), f.tlsDirective(fmt.Sprintf(
		"mode verify_if_given\ntrust_pool file %s\nverifier client_certificate {\n%s\n}", root, goodCNLine)))

	for _, p := range matrixPolicies(f) {
		fmt.Fprintf(&b, "https://localhost:%d {\n%srespond \"verifier ok\"\n}\n", advPort(t, "Q-"+p.name), f.tlsDirective(fmt.Sprintf(
			"mode require_and_verify\ntrust_pool file %s\nverifier client_certificate {\n%s\n}", root, p.body)))
	}
	return b.String()
}

// forgeryTargets name the routes of forgeryCaddyfile, in table order.
var forgeryTargets = []struct{ name, site, path string }{
	{"R/h/pool", "R", "/h/pool"},                           // handler, trust_pool, subject + issuer
	{"R/h/issuer-thumbprint", "R", "/h/issuer-thumbprint"}, // handler, trust_pool, issuer_thumbprint of the real intermediate + common_name
	{"R/m/pool", "R", "/m/pool"},                           // matcher, trust_pool, common_name
	{"R/m/names", "R", "/m/names"},                         // matcher, common_name, no trust_pool: nobody verified, never matches
	{"V/h/names", "V", "/h/names"},                         // handler, subject (TLS-verified against both roots)
	{"V/h/pool", "V", "/h/pool"},                           // handler, trust_pool narrower than the site's + subject
	{"V/h/issuer", "V", "/h/issuer"},                       // handler, subject + issuer
	{"V/m/names", "V", "/m/names"},                         // matcher, common_name
	{"V/m/pool", "V", "/m/pool"},                           // matcher, trust_pool + common_name
	{"Q", "Q", "/"},                                        // verifier (trust_pool real root, subject) under require_and_verify
	{"Q2", "Q2", "/"},                                      // verifier (common_name) under verify_if_given
}

// forgeryTable: for each client, the outcome of each target in
// forgeryTargets order.
var forgeryTable = []struct {
	client string
	want   [11]string
}{
	{"none", [11]string{"403 denied no_certificate", "403 denied no_certificate", "200 nomatch", "200 nomatch",
		"403 denied no_certificate", "403 denied no_certificate", "403 denied no_certificate", "200 nomatch", "200 nomatch",
		"handshake", "200 verifier ok"}},
	{"good", [11]string{"200 allow", "200 allow", "200 match", "200 nomatch",
		"200 allow", "200 allow", "200 allow", "200 match", "200 match",
		"200 verifier ok", "200 verifier ok"}},
	{"other", [11]string{"403 denied subject_mismatch", "403 denied common_name_mismatch", "200 nomatch", "200 nomatch",
		"403 denied subject_mismatch", "403 denied subject_mismatch", "403 denied subject_mismatch", "200 nomatch", "200 nomatch",
		"handshake", "handshake"}},
	// Good's subject, self-signed / signed by a rogue CA copying the issuing
	// CA's DN / same, presenting the real intermediate: only signatures tell.
	{"self-signed", forgedEverywhere},
	{"from-rogue-ca", forgedEverywhere},
	{"rogue-chain", forgedEverywhere},
	// Good's subject from Fabrikam's CA. V's site trusts Fabrikam too, so a
	// subject (or CN) alone cannot tell it from the real one: that is what
	// the policy's trust_pool (V/h/pool, V/m/pool, Q) or issuer (V/h/issuer)
	// are for.
	{"from-other-ca", [11]string{"403 denied untrusted", "403 denied untrusted", "200 nomatch", "200 nomatch",
		"200 allow", "403 denied untrusted", "403 denied issuer_mismatch", "200 match", "200 nomatch",
		"handshake", "handshake"}},
	// serverAuth only: refused by the TLS layer and by trust_pool (EKU clientAuth).
	{"server-auth-only", forgedEverywhere},
	// The issuing CA's own certificate and key as a client certificate: it
	// chains to the root, but is no client identity.
	{"ca-as-client", [11]string{"403 denied ca_certificate", "403 denied ca_certificate", "200 nomatch", "200 nomatch",
		"403 denied ca_certificate", "403 denied ca_certificate", "403 denied ca_certificate", "200 nomatch", "200 nomatch",
		"handshake", "handshake"}},
	// trust_pool validation checks the validity period even without
	// require_unexpired; the TLS layer refuses at the handshake.
	{"expired", [11]string{"403 denied expired", "403 denied expired", "200 nomatch", "200 nomatch",
		"handshake", "handshake", "handshake", "handshake", "handshake", "handshake", "handshake"}},
	{"not-yet-valid", [11]string{"403 denied not_yet_valid", "403 denied not_yet_valid", "200 nomatch", "200 nomatch",
		"handshake", "handshake", "handshake", "handshake", "handshake", "handshake", "handshake"}},
}

var forgedEverywhere = [11]string{"403 denied untrusted", "403 denied untrusted", "200 nomatch", "200 nomatch",
	"handshake", "handshake", "handshake", "handshake", "handshake", "handshake", "handshake"}

func runForgeryTable(t *testing.T, f advFiles, protos ...string) {
	for _, proto := range protos {
		for _, row := range forgeryTable {
			for i, target := range forgeryTargets {
				t.Run(fmt.Sprintf("%s/%s/%s", proto, target.name, row.client), func(t *testing.T) {
					url := fmt.Sprintf("https://localhost:%d%s", advPort(t, target.site), target.path)
					if got := once(t, f, proto, row.client, url); got != row.want[i] {
						t.Errorf("got %q, want %q", got, row.want[i])
					}
				})
			}
		}
	}
}

func TestAdversarialForgery(t *testing.T) {
	f := writeAdvPKI(t)
	loadCaddyfile(t, forgeryCaddyfile(t, f))
	runForgeryTable(t, f, "h1", "h2")
}

// Caddy serves HTTP/3 on the same port (UDP) with the same TLS connection
// policies, client authentication included: the same table must hold.
func TestAdversarialHTTP3(t *testing.T) {
	f := writeAdvPKI(t)
	loadCaddyfile(t, forgeryCaddyfile(t, f))
	runForgeryTable(t, f, "h3")
}

// ---------------------------------------------------------------------------
// The policy matrix: DN tricks and odd certificates, each against single-
// condition policies, through the handler and matcher under mode request
// (trust_pool) and verify_if_given (TLS-verified), and the verifier under
// require_and_verify.

type matrixPolicy struct {
	name   string
	body   string // Caddyfile lines of the policy (without trust_pool)
	cond   string // its condition, for the <cond>_mismatch reason
	pinned bool
}

func matrixPolicies(f advFiles) []matrixPolicy {
	caLeaf := sha256.Sum256(f.pki.certs["ca-leaf"].Cert.Raw)
	return []matrixPolicy{
		{"subject-good", goodSubjectLine, "subject", false},
		{"cn-good", goodCNLine, "common_name", false},
		// "\," is a comma inside the CN value.
		{"subject-escaped-comma", `subject "CN=station-042\,OU=Stations,O=Contoso Weather,C=US"`, "subject", false},
		{"cn-with-comma", `common_name "station-042,OU=Stations"`, "common_name", false},
		// "\+" is a plus inside the CN value; a bare "+" joins a multi-valued RDN.
		{"subject-escaped-plus", `subject "CN=station-042\+OU=Stations,O=Contoso Weather,C=US"`, "subject", false},
		{"subject-multivalued", `subject "CN=station-042+OU=Stations,O=Contoso Weather,C=US"`, "subject", false},
		{"subject-multivalued-swapped", `subject "OU=Stations+CN=station-042,O=Contoso Weather,C=US"`, "subject", false},
		// RFC 4514 order of a name whose DER starts with CN.
		{"subject-cn-first", `subject "C=US,O=Contoso Weather,OU=Stations,CN=station-042"`, "subject", false},
		// Backquotes keep the backslashes: the DN parser sees \" , a literal quote in the value.
		{"subject-literal-quotes", "subject `CN=\\\"station-042\\\",OU=Stations,O=Contoso Weather,C=US`", "subject", false},
		// In a double-quoted Caddyfile token \" is a quote, so the DN parser
		// sees CN="station-042": an RFC 4514 quoted value, i.e. station-042.
		{"subject-rfc-quoted", `subject "CN=\"station-042\",OU=Stations,O=Contoso Weather,C=US"`, "subject", false},
		{"cn-cyrillic", "common_name \"st\u0430tion-042\"", "common_name", false},
		{"cn-other", "common_name station-007", "common_name", false},
		{"dns-last", "dns_name n4999.bulk.example", "dns_name", false},
		{"dns-wildcard", "dns_name *.bulk.example", "dns_name", false},
		{"dns-absent", "dns_name n5000.bulk.example", "dns_name", false},
		{"pin-ca-leaf", fmt.Sprintf("thumbprint %x", caLeaf), "thumbprint", true},
		// The same subject as tools print it (README: Distinguished names
		// as tools print them): openssl -nameopt compat, .NET, openssl's
		// default.
		{"subject-slash", `subject "/C=US/O=Contoso Weather/OU=Stations/CN=station-042"`, "subject", false},
		{"subject-dotnet", `subject "CN=station-042, OU=Stations, O=Contoso Weather, C=US"`, "subject", false},
		{"subject-oneline", `subject "C = US, O = Contoso Weather, OU = Stations, CN = station-042"`, "subject", false},
		// openssl -nameopt compat of dn-bmp (OU and CN as BMPString).
		{"subject-slash-bmp", `subject "/C=US/O=Contoso Weather/OU=\x00S\x00t\x00a\x00t\x00i\x00o\x00n\x00s/CN=\x00s\x00t\x00a\x00t\x00i\x00o\x00n\x00-\x000\x004\x002"`, "subject", false},
		// What .NET shows for dn-t61-utf8.
		{"subject-dotnet-t61", "subject \"CN=station-042, OU=Stations, O=Z\u00fcrich Wetter, C=US\"", "subject", false},
		{"uri-prefix", "uri spiffe://contoso-weather.example/stations/*", "uri", false},
		{"dns-station-wildcard", "dns_name *.stations.example", "dns_name", false},
	}
}

// matrixCert is a client certificate and what each policy should say.
type matrixCert struct {
	name string
	why  string
	// pool is the reason the policy's own trust_pool refuses the chain, "" if it accepts it.
	pool string
	// tlsRefused: the TLS layer (verify_if_given / require_and_verify, real root) refuses it.
	tlsRefused bool
	// ca: a CA certificate, denied as ca_certificate unless pinned.
	ca bool
	// match: policy name -> whether its condition holds on this certificate.
	match map[string]bool
}

var dnCerts = []matrixCert{
	{name: "good", why: "control: the real station-042",
		match: map[string]bool{"subject-good": true, "cn-good": true, "subject-escaped-comma": false, "subject-escaped-plus": false,
			"subject-multivalued": false, "subject-cn-first": false, "subject-literal-quotes": false,
			"subject-rfc-quoted": true, "cn-cyrillic": false,
			// Good's subject as openssl and .NET print it; not the slash form of dn-bmp's BMPString bytes.
			"subject-slash": true, "subject-dotnet": true, "subject-oneline": true, "subject-slash-bmp": false, "subject-dotnet-t61": false,
			"uri-prefix": true}},
	{name: "dn-comma", why: `CN="station-042,OU=Stations",O,C: printed unescaped it reads like Good's DN; the comma is inside the value`,
		match: map[string]bool{"subject-good": false, "cn-good": false, "subject-escaped-comma": true, "cn-with-comma": true}},
	{name: "dn-plus", why: `CN="station-042+OU=Stations": a plus inside the value is not a multi-valued RDN`,
		match: map[string]bool{"subject-good": false, "cn-good": false, "subject-escaped-plus": true, "subject-multivalued": false}},
	{name: "dn-multivalued", why: "RDN {CN=station-042 + OU=Stations}: a different structure than separate RDNs; a SET, so order inside does not matter",
		match: map[string]bool{"subject-good": false, "cn-good": true, "subject-multivalued": true, "subject-multivalued-swapped": true, "subject-escaped-plus": false}},
	{name: "dn-equals", why: `CN="CN=station-042": the value is not station-042`,
		match: map[string]bool{"subject-good": false, "cn-good": false}},
	{name: "dn-quotes", why: `CN="\"station-042\"": the quotes are part of the value`,
		match: map[string]bool{"subject-good": false, "cn-good": false, "subject-literal-quotes": true, "subject-rfc-quoted": false}},
	{name: "dn-nul", why: `CN="station-042\x00.evil.example": no C-string truncation; a name with a control character matches nothing`,
		match: map[string]bool{"subject-good": false, "cn-good": false}},
	{name: "dn-nul-trailing", why: `CN="station-042\x00": a trailing NUL is not dropped`,
		match: map[string]bool{"subject-good": false, "cn-good": false}},
	{name: "dn-cn-crlf", why: `CN="station-042\r\n": line breaks are control characters, not insignificant spaces`,
		match: map[string]bool{"subject-good": false, "cn-good": false}},
	{name: "dn-cn-vtff", why: `CN="\v\fstation-042": vertical tab and form feed are control characters`,
		match: map[string]bool{"subject-good": false, "cn-good": false}},
	{name: "dn-cn-nel", why: `CN="station-042\u0085": NEL is a control character`,
		match: map[string]bool{"subject-good": false, "cn-good": false}},
	{name: "dn-cn-nbsp", why: `CN="station-042\u00a0": a no-break space is data, not folded away`,
		match: map[string]bool{"subject-good": false, "cn-good": false}},
	{name: "dn-cn-ideographic", why: `CN="\u3000station-042": an ideographic space is data, not folded away`,
		match: map[string]bool{"subject-good": false, "cn-good": false}},
	{name: "dn-cn-bmp-nul", why: `CN as BMPString "station-042\x00": the terminator Go's decoder strips is kept, and is a control character`,
		match: map[string]bool{"subject-good": false, "cn-good": false}},
	{name: "dn-spaces", why: `CN="  station-042  ": leading/trailing spaces are insignificant (RFC 4518), by design`,
		match: map[string]bool{"subject-good": true, "cn-good": true}},
	{name: "dn-case", why: "all upper case: DN values compare case-insensitively (caseIgnoreMatch), by design",
		match: map[string]bool{"subject-good": true, "cn-good": true}},
	{name: "dn-cyrillic-cn", why: "CN with a Cyrillic a (U+0430): look-alikes are different characters",
		match: map[string]bool{"subject-good": false, "cn-good": false, "cn-cyrillic": true}},
	{name: "dn-cyrillic-o", why: "O with a Cyrillic ES (U+0421): subject differs; common_name looks at the CN only",
		match: map[string]bool{"subject-good": false, "cn-good": true}},
	{name: "dn-reversed", why: "RDNs in the opposite order (CN first in DER): a DN is an ordered sequence",
		match: map[string]bool{"subject-good": false, "cn-good": true, "subject-cn-first": true}},
	{name: "dn-dup-cn", why: "CN=station-042 twice: one RDN too many for the subject; a CN attribute equals station-042",
		match: map[string]bool{"subject-good": false, "cn-good": true}},
	{name: "dn-dup-cn-other", why: "CN=station-042 and CN=station-007: common_name requires EVERY CN attribute to be listed (documented), so neither single-name policy holds",
		match: map[string]bool{"subject-good": false, "cn-good": false, "cn-other": false}},
	{name: "dn-dup-ou", why: "an extra OU=Admins RDN: the subject differs",
		match: map[string]bool{"subject-good": false, "cn-good": true}},
	{name: "dn-bmp", why: "Good's subject with CN and OU as BMPString and O as T61String: same characters, same name, in every form; and the slash form of its own BMPString bytes",
		match: map[string]bool{"subject-good": true, "cn-good": true, "subject-slash": true, "subject-dotnet": true, "subject-oneline": true, "subject-slash-bmp": true}},
	{name: "dn-extra-rdn", why: "Good's subject plus a trailing L=Nowhere: no prefix matching",
		match: map[string]bool{"subject-good": false, "cn-good": true}},
	{name: "dn-missing-c", why: "Good's subject without C=US: no suffix matching",
		match: map[string]bool{"subject-good": false, "cn-good": true}},
	{name: "dn-t61-utf8", why: "O as a T61String holding UTF-8: matched as .NET shows it, not as Good's O",
		match: map[string]bool{"subject-good": false, "subject-dotnet-t61": true, "subject-slash": false}},
	{name: "dn-mojibake", why: "O as the UTF8String those T61 bytes read as in Latin-1: a different name, which .NET's form must not reach",
		match: map[string]bool{"subject-good": false, "subject-dotnet-t61": false}},
	{name: "uri-spiffe", why: "control: a SPIFFE ID below the prefix",
		match: map[string]bool{"subject-good": true, "uri-prefix": true}},
	{name: "uri-dotdot", why: "a percent-encoded dot segment after the prefix",
		match: map[string]bool{"subject-good": true, "uri-prefix": false}},
	{name: "uri-empty-segment", why: "an empty segment after the prefix",
		match: map[string]bool{"subject-good": true, "uri-prefix": false}},
	{name: "uri-query", why: "a query after the prefix",
		match: map[string]bool{"subject-good": true, "uri-prefix": false}},
	{name: "dns-label", why: "control: one label of letters, digits and hyphens below the wildcard",
		match: map[string]bool{"subject-good": true, "dns-station-wildcard": true}},
	{name: "dns-label-space", why: "a space in the label the wildcard stands for",
		match: map[string]bool{"subject-good": true, "dns-station-wildcard": false}},
	{name: "dns-label-nul", why: "a NUL in the label the wildcard stands for",
		match: map[string]bool{"subject-good": true, "dns-station-wildcard": false}},
	{name: "dns-label-underscore", why: "an underscore in the label the wildcard stands for",
		match: map[string]bool{"subject-good": true, "dns-station-wildcard": false}},
	{name: "dns-two-labels", why: "two labels where the wildcard stands for one",
		match: map[string]bool{"subject-good": true, "dns-station-wildcard": false}},
}

var oddCerts = []matrixCert{
	{name: "eku-none", why: "no extendedKeyUsage extension: any usage (RFC 5280 4.2.1.12), as Go's TLS stack agrees",
		match: map[string]bool{"subject-good": true}},
	{name: "eku-any", why: "anyExtendedKeyUsage", match: map[string]bool{"subject-good": true}},
	{name: "server-auth-only", why: "serverAuth only", pool: "untrusted", tlsRefused: true, match: map[string]bool{"subject-good": true}},
	{name: "eku-codesigning", why: "codeSigning only", pool: "untrusted", tlsRefused: true, match: map[string]bool{"subject-good": true}},
	{name: "ca-leaf", why: "CA:TRUE with clientAuth, issued by the real intermediate: no client identity unless pinned", ca: true,
		match: map[string]bool{"subject-good": true, "pin-ca-leaf": true}},
	{name: "chain-3", why: "three intermediates", match: map[string]bool{"subject-good": true}},
	{name: "chain-20", why: "twenty intermediates: Go's TLS stack accepts the chain; the plugin's own path validation refuses more than 10 presented intermediates (bounded work)",
		pool: "untrusted", match: map[string]bool{"subject-good": true}},
	{name: "chain-20-rogue-leaf", why: "the real twenty intermediates, leaf signed by a rogue key under Deep CA 20's DN",
		pool: "untrusted", tlsRefused: true, match: map[string]bool{"subject-good": true}},
	{name: "sans-5000", why: "5,000 DNS SANs (a 100 KB certificate)",
		match: map[string]bool{"subject-good": true, "dns-last": true, "dns-wildcard": true, "dns-absent": false, "pin-ca-leaf": false}},
}

// expect returns the outcome of policy p on target ("R-h", "R-m", "V-h",
// "V-m" or "Q").
func (c matrixCert) expect(target string, p matrixPolicy) string {
	reason := ""
	switch {
	case target[0] == 'R' && c.pool != "":
		reason = c.pool
	case target[0] != 'R' && c.tlsRefused:
		return "handshake"
	case c.ca && !p.pinned:
		reason = "ca_certificate"
	case !c.match[p.name]:
		reason = p.cond + "_mismatch"
	}
	switch {
	case target == "Q" && reason == "":
		return "200 verifier ok"
	case target == "Q":
		return "handshake"
	case strings.HasSuffix(target, "-m") && reason == "":
		return "200 match"
	case strings.HasSuffix(target, "-m"):
		return "200 nomatch"
	case reason == "":
		return "200 allow"
	}
	return "403 denied " + reason
}

func runMatrix(t *testing.T, certs []matrixCert) {
	f := writeAdvPKI(t)
	loadCaddyfile(t, forgeryCaddyfile(t, f))
	policies := map[string]matrixPolicy{}
	for _, p := range matrixPolicies(f) {
		policies[p.name] = p
	}
	for _, c := range certs {
		for pname := range c.match {
			p, ok := policies[pname]
			if !ok {
				t.Fatalf("no policy %q", pname)
			}
			for _, target := range []string{"R-h", "R-m", "V-h", "V-m", "Q"} {
				url := fmt.Sprintf("https://localhost:%d/", advPort(t, "Q-"+p.name))
				if target != "Q" {
					url = fmt.Sprintf("https://localhost:%d/p/%c/%s", advPort(t, target[:1]), target[2], p.name)
				}
				want := c.expect(target, p)
				t.Run(fmt.Sprintf("%s/%s/%s", c.name, p.name, target), func(t *testing.T) {
					if got := once(t, f, "h1", c.name, url); got != want {
						t.Errorf("%s: got %q, want %q", c.why, got, want)
					}
				})
			}
		}
	}
}

func TestAdversarialDNTricks(t *testing.T) { runMatrix(t, dnCerts) }

// Wrong EKU, a CA certificate as client, long chains and a very large
// certificate: the right decision, no panic, and every request bounded by
// hangGuard (checked in advClient.do).
func TestAdversarialOddCertificates(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts Caddy")
	}
	p, err := adversarialPKI()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.certs["sans-5000"].Cert.Raw); n < 90<<10 {
		t.Fatalf("sans-5000 is only %d bytes", n)
	}
	if n := len(p.certs["chain-20"].Chain); n != 20 {
		t.Fatalf("chain-20 presents %d intermediates", n)
	}
	runMatrix(t, oddCerts)
}

// ---------------------------------------------------------------------------
// Expiry during keep-alive

func expiryCaddyfile(t *testing.T, f advFiles) string {
	root := f.path("root.pem")
	pool := "trust_pool file " + root
	cn := "common_name expiring-client"
	var b strings.Builder
	b.WriteString(globalOptions())
	fmt.Fprintf(&b, "https://localhost:%d {\n%s", advPort(t, "ER"), f.tlsDirective("mode request"))
	b.WriteString(handlerRoute("/h", pool+"\nrequire_unexpired\n"+cn))
	b.WriteString(handlerRoute("/h-pool-only", pool+"\n"+cn))
	b.WriteString(matcherRoute("/m", "m", pool+"\nrequire_unexpired\n"+cn))
	b.WriteString(handleErrors + "}\n")
	fmt.Fprintf(&b, "https://localhost:%d {\n%s", advPort(t, "EV"), f.tlsDirective("mode verify_if_given\ntrust_pool file "+root))
	b.WriteString(handlerRoute("/h", "require_unexpired\n"+cn))
	b.WriteString(handlerRoute("/h-no-require", cn))
	b.WriteString(matcherRoute("/m", "m", "require_unexpired\n"+cn))
	b.WriteString(handleErrors + "}\n")
	fmt.Fprintf(&b, "https://localhost:%d {\n%s", advPort(t, "EQ"), f.tlsDirective(fmt.Sprintf(
		"mode require_and_verify\ntrust_pool file %s\nverifier client_certificate {\nrequire_unexpired\n%s\n}", root, cn)))
	b.WriteString(handlerRoute("/h", "require_unexpired\n"+cn))
	b.WriteString("respond \"verifier ok\"\n" + handleErrors + "}\n")
	return b.String()
}

// A certificate valid at the handshake that expires a few seconds later is
// denied on the next request on the SAME connection wherever
// require_unexpired (or the policy's trust_pool, which validates at the
// current time) applies, over HTTP/1.1, HTTP/2 and HTTP/3.
func TestAdversarialExpiryDuringKeepAlive(t *testing.T) {
	f := writeAdvPKI(t)
	loadCaddyfile(t, expiryCaddyfile(t, f))
	steps := []struct{ site, path, before, after, why string }{
		{"ER", "/h", "200 allow", "403 denied expired", "require_unexpired"},
		{"ER", "/h-pool-only", "200 allow", "403 denied expired", "trust_pool results expire with the chain"},
		{"ER", "/m", "200 match", "200 nomatch", "require_unexpired"},
		{"EV", "/h", "200 allow", "403 denied expired", "require_unexpired"},
		// Documented: without require_unexpired or a trust_pool nothing re-checks
		// the validity period after the handshake.
		{"EV", "/h-no-require", "200 allow", "200 allow", "no require_unexpired: TLS checked validity at the handshake only (documented)"},
		{"EV", "/m", "200 match", "200 nomatch", "require_unexpired"},
		// Documented: the verifier decides once per connection, at the handshake.
		{"EQ", "/", "200 verifier ok", "200 verifier ok", "the verifier runs at the handshake only (documented)"},
		{"EQ", "/h", "200 allow", "403 denied expired", "require_unexpired in a handler behind the verifier"},
	}
	for attempt, window := range []time.Duration{5 * time.Second, 15 * time.Second} {
		leaf, err := f.set.Intermediate.Issue(testpki.Options{
			Subject:  pkix.Name{CommonName: "expiring-client"},
			NotAfter: time.Now().Add(window),
		})
		if err != nil {
			t.Fatal(err)
		}
		notAfter := leaf.Cert.NotAfter
		clients := map[string]*advClient{}
		key := func(proto, site string) string { return proto + " " + site }
		for _, proto := range []string{"h1", "h2", "h3"} {
			for _, site := range []string{"ER", "EV", "EQ"} {
				clients[key(proto, site)] = newAdvClient(t, f, proto, clientOpts{leaf: leaf, keepAlive: true})
			}
		}
		ok := true
		for _, proto := range []string{"h1", "h2", "h3"} {
			for _, s := range steps {
				c := clients[key(proto, s.site)]
				if got := c.get(fmt.Sprintf("https://localhost:%d%s", advPort(t, s.site), s.path)); got != s.before {
					t.Errorf("%s %s%s before expiry: got %q, want %q", proto, s.site, s.path, got, s.before)
				}
			}
		}
		if time.Until(notAfter) < 500*time.Millisecond {
			for _, c := range clients {
				c.close()
			}
			if attempt == 0 {
				t.Logf("the requests before expiry took too long on this machine; retrying with a %v window", 15*time.Second)
				continue
			}
			t.Fatalf("the requests before expiry did not finish before the certificate expired")
		}
		time.Sleep(time.Until(notAfter) + 1500*time.Millisecond)
		for _, proto := range []string{"h1", "h2", "h3"} {
			for _, s := range steps {
				c := clients[key(proto, s.site)]
				got := c.get(fmt.Sprintf("https://localhost:%d%s", advPort(t, s.site), s.path))
				if got != s.after {
					t.Errorf("%s %s%s after expiry (%s): got %q, want %q", proto, s.site, s.path, s.why, got, s.after)
					ok = false
				}
				if !c.reused() {
					t.Errorf("%s %s%s after expiry: the request did not reuse the connection", proto, s.site, s.path)
					ok = false
				}
			}
		}
		for k, c := range clients {
			if n := c.dials.Load(); n != 1 {
				t.Errorf("%s: %d connections, want 1 (the same connection before and after expiry)", k, n)
				ok = false
			}
		}
		if ok {
			t.Logf("certificate expired %s; %d keep-alive connections, one per site and protocol, judged it expired on their next request", notAfter.Format(time.RFC3339), len(clients))
		}
		return
	}
}

// ---------------------------------------------------------------------------
// Plain HTTP, SNI/Host mismatch, a site without client auth

// sniCaddyfile serves, on one port S, guarded.localhost (client_auth mode
// request, handler) and open.localhost (no client auth, with a handler and
// a matcher too), and on port P a plain-HTTP site with a handler and a
// matcher.
func sniCaddyfile(t *testing.T, f advFiles) string {
	policy := "trust_pool file " + f.path("root.pem") + "\n" + goodCNLine
	pin := "thumbprint " + sha1Of(f.set.Good.Cert)
	var b strings.Builder
	b.WriteString(globalOptions())
	fmt.Fprintf(&b, "https://guarded.localhost:%d {\n%s", advPort(t, "S"), f.tlsDirective("mode request"))
	b.WriteString(handlerRoute("/h", policy))
	b.WriteString(matcherRoute("/m", "m", policy))
	b.WriteString("respond \"guarded public\"\n" + handleErrors + "}\n")
	fmt.Fprintf(&b, "https://open.localhost:%d {\n%s", advPort(t, "S"), f.tlsDirective(""))
	b.WriteString(handlerRoute("/h", policy))
	b.WriteString(matcherRoute("/m", "m", policy))
	b.WriteString("respond \"open public\"\n" + handleErrors + "}\n")
	fmt.Fprintf(&b, "http://localhost:%d {\n", advPort(t, "P"))
	b.WriteString(handlerRoute("/h", pin))
	b.WriteString(matcherRoute("/m", "m", pin))
	b.WriteString(handleErrors + "}\n")
	return b.String()
}

func TestAdversarialPlainHTTP(t *testing.T) {
	f := writeAdvPKI(t)
	loadCaddyfile(t, sniCaddyfile(t, f))
	for path, want := range map[string]string{"/h": "403 denied no_tls", "/m": "200 nomatch"} {
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", advPort(t, "P"), path), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = fmt.Sprintf("localhost:%d", advPort(t, "P"))
		resp, err := (&http.Client{Timeout: hangGuard}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := fmt.Sprintf("%d %s", resp.StatusCode, body); got != want {
			t.Errorf("plain HTTP %s: got %q, want %q", path, got, want)
		}
	}
}

// TLS client authentication is per connection (chosen by SNI), routing per
// request (chosen by Host). Caddy turns on strict_sni_host when any
// connection policy has client authentication, so a request whose Host
// differs from its SNI gets 421; it must never be 200 from the guarded site.
func TestAdversarialSNIHost(t *testing.T) {
	f := writeAdvPKI(t)
	loadCaddyfile(t, sniCaddyfile(t, f))
	s := advPort(t, "S")
	guarded := fmt.Sprintf("guarded.localhost:%d", s)
	open := fmt.Sprintf("open.localhost:%d", s)
	// Caddy answers 421 before any route runs, so the plugin never set the
	// reason placeholder, which respond leaves as written.
	const mis = "421 denied {http.client_certificate.reason}"
	cases := []struct {
		name, sni, host, path, client, want string
	}{
		{"control: guarded", "guarded.localhost", guarded, "/h", "good", "200 allow"},
		{"control: guarded matcher", "guarded.localhost", guarded, "/m", "good", "200 match"},
		// Handshake for the open site (no certificate requested), Host of the guarded one.
		{"open SNI, guarded Host, handler", "open.localhost", guarded, "/h", "good", mis},
		{"open SNI, guarded Host, matcher", "open.localhost", guarded, "/m", "good", mis},
		{"open SNI, guarded Host, public", "open.localhost", guarded, "/", "none", mis},
		// And the other way round.
		{"guarded SNI, open Host", "guarded.localhost", open, "/h", "good", mis},
		// A Host whose site has no client auth: its public route works, and a
		// handler there fails closed since no certificate was requested.
		{"open site, public", "open.localhost", open, "/", "good", "200 open public"},
		{"open site, handler", "open.localhost", open, "/h", "good", "403 denied no_certificate"},
		{"open site, matcher", "open.localhost", open, "/m", "good", "200 nomatch"},
	}
	for _, proto := range []string{"h1", "h2", "h3"} {
		for _, c := range cases {
			t.Run(proto+"/"+c.name, func(t *testing.T) {
				cl := newAdvClient(t, f, proto, clientOpts{leaf: f.leaf(t, c.client), sni: c.sni})
				defer cl.close()
				got := cl.do(http.MethodGet, fmt.Sprintf("https://%s%s", c.host, c.path), "")
				if got != c.want {
					t.Errorf("got %q, want %q", got, c.want)
				}
			})
		}
	}
	// No SNI at all (an IP address): whatever Caddy answers, never the
	// guarded route's 200.
	for _, proto := range []string{"h1", "h2"} {
		cl := newAdvClient(t, f, proto, clientOpts{leaf: f.set.Good, sni: "127.0.0.1"})
		got := cl.do(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/h", s), guarded)
		if strings.HasPrefix(got, "200") {
			t.Errorf("%s no SNI, guarded Host: got %q", proto, got)
		}
		t.Logf("%s no SNI, Host %s: %q", proto, guarded, got)
		cl.close()
	}
}

// ---------------------------------------------------------------------------
// TLS 1.3 early data (0-RTT)

// Go's crypto/tls cannot send 0-RTT data over TCP (it has no client API for
// early data), so over TCP the 425 path is covered by module_test.go with a
// ConnectionState whose handshake is not complete. quic-go can: this test
// sends real 0-RTT requests over HTTP/3. It holds back the client's
// Finished (holdingPacketConn) so the server handles each request while
// the handshake is still incomplete.
func TestAdversarialEarlyData(t *testing.T) {
	f := writeAdvPKI(t)
	loadCaddyfile(t, sniCaddyfile(t, f))
	s := advPort(t, "S")
	cache := tls.NewLRUClientSessionCache(16)

	// A first, ordinary connection to the open site (no client auth) gets a
	// session ticket.
	c := newAdvClient(t, f, "h3", clientOpts{sni: "open.localhost", cache: cache})
	if got := c.get(fmt.Sprintf("https://open.localhost:%d/", s)); got != "200 open public" {
		t.Fatalf("1-RTT request: got %q", got)
	}
	waitForTicket(t, cache, "open.localhost")
	c.close()

	// Holding back Finished is a matter of timing: on a loaded machine the
	// server may complete the handshake before it routes the request. Such
	// an attempt proves nothing and is retried; only a 425 or the answer
	// for a completed handshake (late) is acceptable, never anything else.
	for _, tc := range []struct{ path, want, late, why string }{
		{"/", "200 open public", "200 open public", "control: Caddy serves 0-RTT requests by default"},
		{"/h", "425 denied early_data", "403 denied no_certificate", "the handler refuses requests sent before the client is authenticated"},
		{"/m", "425 denied early_data", "200 nomatch", "so does the matcher"},
	} {
		var got string
		for attempt := 0; attempt < 5; attempt++ {
			c := newAdvClient(t, f, "h3", clientOpts{sni: "open.localhost", cache: cache, holdFinish: time.Second})
			got = c.do(http3.MethodGet0RTT, fmt.Sprintf("https://open.localhost:%d%s", s, tc.path), "")
			used := used0RTT(t, c)
			c.close()
			if !used {
				t.Errorf("0-RTT %s: the connection did not use 0-RTT", tc.path)
			}
			if got == tc.want || got != tc.late {
				break
			}
			t.Logf("0-RTT %s: the handshake completed before the request was routed (%q); retrying", tc.path, got)
		}
		if got != tc.want {
			t.Errorf("0-RTT %s (%s): got %q, want %q", tc.path, tc.why, got, tc.want)
		}
	}

	// A site with client authentication issues no session tickets, so
	// there is no 0-RTT to it at all: the request waits for the handshake.
	c = newAdvClient(t, f, "h3", clientOpts{leaf: f.set.Good, sni: "guarded.localhost", cache: cache})
	if got := c.get(fmt.Sprintf("https://guarded.localhost:%d/h", s)); got != "200 allow" {
		t.Fatalf("guarded: got %q", got)
	}
	time.Sleep(300 * time.Millisecond)
	c.close()
	if _, ok := cache.Get("guarded.localhost"); ok {
		t.Errorf("the guarded site (client auth) issued a session ticket")
	}
	c = newAdvClient(t, f, "h3", clientOpts{leaf: f.set.Good, sni: "guarded.localhost", cache: cache, holdFinish: time.Second})
	if got := c.do(http3.MethodGet0RTT, fmt.Sprintf("https://guarded.localhost:%d/h", s), ""); got != "200 allow" {
		t.Errorf("guarded, 0-RTT attempted: got %q, want 200 allow", got)
	}
	if used0RTT(t, c) {
		t.Errorf("guarded: 0-RTT was used on a site with client authentication")
	}
	c.close()
}

func waitForTicket(t *testing.T, cache tls.ClientSessionCache, key string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, ok := cache.Get(key); ok {
			return
		}
	}
	t.Fatalf("no session ticket for %s", key)
}

func used0RTT(t *testing.T, c *advClient) bool {
	t.Helper()
	c.mu.Lock()
	conns := append([]*quic.Conn(nil), c.quicConns...)
	c.mu.Unlock()
	if len(conns) != 1 {
		t.Fatalf("%d QUIC connections, want 1", len(conns))
	}
	select {
	case <-conns[0].HandshakeComplete():
	case <-time.After(hangGuard):
		t.Fatal("QUIC handshake did not complete")
	}
	return conns[0].ConnectionState().Used0RTT
}

// ---------------------------------------------------------------------------
// TLS session resumption and reloads

// recordingCache is a client session cache that records tickets received
// and sessions offered; with replay set it offers that session for every
// server name (a ticket taken from one site replayed against another).
type recordingCache struct {
	mu     sync.Mutex
	inner  tls.ClientSessionCache
	puts   map[string]int
	offers map[string]int
	replay *tls.ClientSessionState
}

func newRecordingCache() *recordingCache {
	return &recordingCache{inner: tls.NewLRUClientSessionCache(16), puts: map[string]int{}, offers: map[string]int{}}
}

func (c *recordingCache) Get(key string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.replay != nil {
		c.offers[key]++
		return c.replay, true
	}
	s, ok := c.inner.Get(key)
	if ok {
		c.offers[key]++
	}
	return s, ok
}

func (c *recordingCache) Put(key string, cs *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs != nil {
		c.puts[key]++
	}
	c.inner.Put(key, cs)
}

func (c *recordingCache) count(m map[string]int, key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return m[key]
}

// resumptionCaddyfile: on port T, guarded.localhost (require_and_verify,
// verifier allowing the common name cn) and open.localhost (no client
// auth); on port T2 a mode request site whose handler allows cn. Every
// answer is labelled with the config's name.
func resumptionCaddyfile(t *testing.T, f advFiles, label, cn string) string {
	root := f.path("root.pem")
	var b strings.Builder
	b.WriteString(globalOptions())
	fmt.Fprintf(&b, "https://guarded.localhost:%d {\n%srespond \"%s guarded ok\"\n}\n", advPort(t, "T"), f.tlsDirective(fmt.Sprintf(
		"mode require_and_verify\ntrust_pool file %s\nverifier client_certificate {\ncommon_name %s\n}", root, cn)), label)
	fmt.Fprintf(&b, "https://open.localhost:%d {\n%srespond \"%s open ok\"\n}\n", advPort(t, "T"), f.tlsDirective(""), label)
	fmt.Fprintf(&b, "https://localhost:%d {\n%s", advPort(t, "T2"), f.tlsDirective("mode request"))
	fmt.Fprintf(&b, "client_certificate {\ntrust_pool file %s\ncommon_name %s\n}\nrespond \"%s handler ok\"\n", root, cn, label)
	fmt.Fprintf(&b, "handle_errors {\nrespond \"%s denied {http.client_certificate.reason}\" {err.status_code}\n}\n}\n", label)
	return b.String()
}

// A resumed TLS session must never carry a decision past a config change
// that revokes it. Caddy disables session tickets on every connection
// policy with client authentication, so nothing can resume there; this
// test proves it, replays a ticket from a site without client auth on the
// same listener, and checks that after a reload revoking the certificate
// neither new nor kept-alive connections are admitted.
func TestAdversarialSessionResumption(t *testing.T) {
	f := writeAdvPKI(t)
	loadCaddyfile(t, resumptionCaddyfile(t, f, "A", "station-042"))
	port, port2 := advPort(t, "T"), advPort(t, "T2")
	guardedURL := fmt.Sprintf("https://guarded.localhost:%d/", port)
	openURL := fmt.Sprintf("https://open.localhost:%d/", port)
	handlerURL := fmt.Sprintf("https://localhost:%d/", port2)
	cache := newRecordingCache()

	// connect makes one request on a new TCP connection and reports whether
	// the TLS session was resumed.
	connect := func(leaf *testpki.Leaf, sni, url string) (string, bool) {
		t.Helper()
		c := newAdvClient(t, f, "h1", clientOpts{leaf: leaf, sni: sni, cache: cache})
		defer c.close()
		var resumed atomic.Bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			TLSHandshakeDone: func(cs tls.ConnectionState, err error) { resumed.Store(err == nil && cs.DidResume) },
		})
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.client.Do(req)
		if err != nil {
			if !isRefusedHandshake(err) {
				t.Fatalf("%s: unexpected error: %v", url, err)
			}
			return "handshake", resumed.Load()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, body), resp.TLS != nil && resp.TLS.DidResume
	}

	// Control: on the site without client auth, the client and Caddy resume.
	if got, resumed := connect(nil, "open.localhost", openURL); got != "200 A open ok" || resumed {
		t.Fatalf("open, first connection: %q resumed=%v", got, resumed)
	}
	if got, resumed := connect(nil, "open.localhost", openURL); got != "200 A open ok" || !resumed {
		t.Fatalf("open, second connection: %q resumed=%v; want a resumed session (the control failed)", got, resumed)
	}
	openSession, ok := cache.inner.Get("open.localhost")
	if !ok {
		t.Fatal("no session for open.localhost")
	}

	// The guarded site issues no ticket, so it never resumes.
	for i := range 2 {
		if got, resumed := connect(f.set.Good, "guarded.localhost", guardedURL); got != "200 A guarded ok" || resumed {
			t.Errorf("guarded, connection %d: %q resumed=%v", i, got, resumed)
		}
	}
	if n := cache.count(cache.puts, "guarded.localhost"); n != 0 {
		t.Errorf("the guarded site (client auth) issued %d session tickets", n)
	}

	// Replay the open site's ticket against the guarded site: offered, not
	// accepted; the handshake is judged in full.
	cache.mu.Lock()
	cache.replay = openSession
	cache.mu.Unlock()
	if got, resumed := connect(nil, "guarded.localhost", guardedURL); got != "handshake" || resumed {
		t.Errorf("guarded, replayed ticket, no certificate: %q resumed=%v, want a refused handshake", got, resumed)
	}
	if got, resumed := connect(f.set.Good, "guarded.localhost", guardedURL); got != "200 A guarded ok" || resumed {
		t.Errorf("guarded, replayed ticket, good certificate: %q resumed=%v", got, resumed)
	}
	if n := cache.count(cache.offers, "guarded.localhost"); n == 0 {
		t.Errorf("the replayed session was never offered")
	}

	// Keep-alive connections to the handler site, under config A.
	keep := map[string]*advClient{}
	for _, proto := range []string{"h1", "h2"} {
		keep[proto] = newAdvClient(t, f, proto, clientOpts{leaf: f.set.Good, keepAlive: true})
		if got := keep[proto].get(handlerURL); got != "200 A handler ok" {
			t.Fatalf("%s handler under A: %q", proto, got)
		}
	}

	// Config B revokes station-042 and allows station-007.
	loadCaddyfile(t, resumptionCaddyfile(t, f, "B", "station-007"))

	for _, replay := range []bool{true, false} {
		cache.mu.Lock()
		cache.replay = nil
		if replay {
			cache.replay = openSession
		}
		cache.mu.Unlock()
		if got, resumed := connect(f.set.Good, "guarded.localhost", guardedURL); got != "handshake" || resumed {
			t.Errorf("guarded after revocation (replayed ticket %v): %q resumed=%v, want a refused handshake", replay, got, resumed)
		}
		if got, _ := connect(f.set.Other, "guarded.localhost", guardedURL); got != "200 B guarded ok" {
			t.Errorf("guarded after revocation, station-007: %q", got)
		}
	}
	for proto, c := range keep {
		got := c.get(handlerURL)
		if got != "403 B denied common_name_mismatch" {
			t.Errorf("%s handler after the reload, kept-alive client: got %q, want B's denial", proto, got)
		}
		t.Logf("%s after the reload: %q (connection reused: %v, connections: %d)", proto, got, c.reused(), c.dials.Load())
	}
	if got, resumed := connect(nil, "open.localhost", openURL); got == "200 B open ok" {
		t.Logf("open site after the reload: resumed=%v (whether tickets survive a reload is Caddy's business; no client auth there)", resumed)
	}
}

// ---------------------------------------------------------------------------
// Memory retained by closed connections

// retainedHeap returns the live heap after garbage collection.
func retainedHeap() uint64 {
	var m runtime.MemStats
	for range 3 {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
	}
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A client that is not trusted, on a connection that is closed, must not
// leave its certificate behind. Here 64 connections under client_auth mode
// request each present a different self-signed certificate of about 200 KB
// (8,000 DNS SANs; TLS allows certificate messages up to 256 KiB) to a
// handler with a trust_pool, and are all denied as untrusted. The heap
// still live once they are closed must not grow by a sizeable fraction of
// what they sent.
func TestAdversarialRetainedMemory(t *testing.T) {
	// Regression: the verification memo once kept peer[1:], whose backing
	// array holds the leaf, so every certificate checked against a
	// trust_pool stayed alive after its connection closed.
	f := writeAdvPKI(t)
	var b strings.Builder
	b.WriteString(globalOptions())
	fmt.Fprintf(&b, "https://localhost:%d {\n%s", advPort(t, "M"), f.tlsDirective("mode request"))
	b.WriteString(handlerRoute("/h", "trust_pool file "+f.path("root.pem")+"\n"+goodCNLine))
	b.WriteString(handleErrors + "}\n")
	fmt.Fprintf(&b, "https://localhost:%d {\n%srespond \"verifier ok\"\n}\n", advPort(t, "MV"), f.tlsDirective(fmt.Sprintf(
		"mode request\nverifier client_certificate {\ntrust_pool file %s\n%s\n}", f.path("root.pem"), goodCNLine)))
	fmt.Fprintf(&b, "https://localhost:%d {\n%s", advPort(t, "MP"), f.tlsDirective("mode request"))
	b.WriteString(handlerRoute("/h", "thumbprint "+sha1Of(f.set.Good.Cert)))
	b.WriteString(handleErrors + "}\n")
	fmt.Fprintf(&b, "https://localhost:%d {\n%srespond \"public\"\n}\n", advPort(t, "MC"), f.tlsDirective("mode request"))
	loadCaddyfile(t, b.String())

	const k = 64
	names := make([]string, 8000)
	for i := range names {
		names[i] = fmt.Sprintf("n%05d.bulk.example", i)
	}
	key, err := testpki.SelfSigned(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []struct{ site, path, want string }{
		{"MC", "/", "200 public"},                      // control: the same connections to a site without the plugin
		{"MP", "/h", "403 denied thumbprint_mismatch"}, // a pin-only handler: no trust_pool verification
		{"M", "/h", "403 denied untrusted"},
		{"MV", "/", "handshake"},
	} {
		leaves := make([]*testpki.Leaf, k)
		sent := 0
		for i := range leaves {
			leaves[i], err = testpki.SelfSigned(testpki.Options{Subject: goodName, DNSNames: names, Key: key.Key})
			if err != nil {
				t.Fatal(err)
			}
			sent += len(leaves[i].Cert.Raw)
		}
		before := retainedHeap()
		for _, leaf := range leaves {
			c := newAdvClient(t, f, "h1", clientOpts{leaf: leaf})
			if got := c.get(fmt.Sprintf("https://localhost:%d%s", advPort(t, target.site), target.path)); got != target.want {
				t.Errorf("%s: got %q, want %q", target.site, got, target.want)
			}
			c.close()
		}
		leaves = nil
		after := retainedHeap()
		growth := int64(after) - int64(before)
		t.Logf("%s: %d closed connections sent %.1f MiB of certificates; live heap grew by %.1f MiB", target.site, k, float64(sent)/(1<<20), float64(growth)/(1<<20))
		if target.site == "MC" && growth > int64(sent)/4 {
			t.Fatalf("control: the live heap grew by %.1f MiB without the plugin; the measurement is not meaningful here", float64(growth)/(1<<20))
		}
		if growth > int64(sent)/4 {
			t.Errorf("%s: the live heap grew by %.1f MiB after %d closed, denied connections that sent %.1f MiB: their certificates were kept",
				target.site, float64(growth)/(1<<20), k, float64(sent)/(1<<20))
		}
	}
}

// A subject with two CN attributes, CN=station-042 and CN=station-007
// (genuinely issued, see dn-dup-cn-other), satisfies common_name
// station-042 (any CN attribute counts, as documented). The identity the
// plugin hands on for that decision must then be one the policy allowed:
// upstreams and access logs read {http.auth.user.id} and
// {http.client_certificate.common_name} as who called.
func TestAdversarialAmbiguousCommonNamePlaceholders(t *testing.T) {
	// A subject with CN=station-042 and CN=station-007 must not pass a
	// policy listing only station-042: placeholders and logs would report
	// station-007 (Go's Subject.CommonName is the last CN). Every CN must
	// be listed.
	f := writeAdvPKI(t)
	var b strings.Builder
	b.WriteString(globalOptions())
	fmt.Fprintf(&b, "https://localhost:%d {\n%s", advPort(t, "X"), f.tlsDirective("mode request"))
	fmt.Fprintf(&b, "client_certificate {\ntrust_pool file %s\n%s\n}\n", f.path("root.pem"), goodCNLine)
	b.WriteString("respond \"{http.auth.user.id}|{http.client_certificate.common_name}\"\nhandle_errors {\nrespond \"{http.client_certificate.reason}\" 403\n}\n}\n")
	loadCaddyfile(t, b.String())
	got := once(t, f, "h1", "dn-dup-cn-other", fmt.Sprintf("https://localhost:%d/", advPort(t, "X")))
	if want := "403 common_name_mismatch"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A CN holding CR LF, allowed by a thumbprint pin: the placeholders a
// reverse_proxy would put in a header, and the access log's user id, carry
// it escaped (\0D\0A), so it can break neither a header nor a log line.
func TestAdversarialControlCharacterPlaceholders(t *testing.T) {
	f := writeAdvPKI(t)
	crlf := f.pki.certs["dn-cn-crlf"].Cert
	var b strings.Builder
	b.WriteString(globalOptions())
	fmt.Fprintf(&b, "https://localhost:%d {\n%s", advPort(t, "CC"), f.tlsDirective("mode request"))
	fmt.Fprintf(&b, "client_certificate {\nthumbprint %s\n}\n", sha1Of(crlf))
	b.WriteString("respond \"{http.auth.user.id}|{http.client_certificate.common_name}\"\n}\n")
	loadCaddyfile(t, b.String())
	got := once(t, f, "h1", "dn-cn-crlf", fmt.Sprintf("https://localhost:%d/", advPort(t, "CC")))
	if want := `200 station-042\0D\0A|station-042\0D\0A`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
