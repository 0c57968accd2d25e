// dntext.go: distinguished names as people paste them: the text forms of
// OpenSSL (slash, oneline, RFC 2253), RFC 4514 and .NET, read into the same
// structure as a certificate's DER (dn.go), so that they compare as keys.

package clientcertificate

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// parseDNKeys parses a DN written in one of the accepted text forms and
// returns the keys of the certificate names it denotes: usually one; a
// "#hex" value in .NET's form adds the reading .NET gives it (see
// addDotnetReadings), never more than maxDNReadings in all. The forms, and
// how each is recognised, are described in README (Distinguished names as
// tools print them):
//
//   - OpenSSL's slash form (-nameopt compat, X509_NAME_oneline, Apache's
//     legacy SSL_CLIENT_S_DN): starts with "/"; read by parseSlashDN, and
//     compared within each string family its bytes can be (keyTyped).
//   - OpenSSL's oneline form (its default, and -nameopt oneline): "=" with a
//     space on each side, most significant RDN first, backslash escapes.
//   - RFC 4514/2253 (-nameopt RFC2253, Go, LDAP tools): least significant RDN
//     first, backslash escapes, "#hex" values, values in double quotes.
//   - .NET's X500DistinguishedName.Name and X509Certificate2.Subject (Azure
//     API Management): least significant first, ", " between RDNs, " + "
//     inside one, no escapes (a backslash is itself), values with special
//     characters in double quotes with "" for a quote. Where a name reads
//     differently as .NET and as RFC 4514, it is refused as ambiguous. (How
//     .NET displays a T61String is handled on the certificate's side:
//     keyDotnet.)
//
// Attribute types are case-insensitive short names (OpenSSL's, RFC 4519's
// and .NET's) or dotted OIDs, with an optional "OID." prefix.
func parseDNKeys(s string) ([]dnKey, error) {
	if len(s) > maxDNTextLen {
		return nil, fmt.Errorf("distinguished name is too long (%d bytes, limit %d)", len(s), maxDNTextLen)
	}
	start := 0
	for start < len(s) && isDNSpace(s[start]) {
		start++
	}
	if start == len(s) {
		return nil, errors.New("empty distinguished name: expected e.g. CN=name,O=org,C=US")
	}
	if prefix, _, ok := strings.Cut(s[start:], "="); ok && (strings.EqualFold(prefix, "subject") || strings.EqualFold(prefix, "issuer")) {
		return nil, fmt.Errorf("starts with %q, which openssl prints before the name: paste only what follows it", prefix+"=")
	}
	if s[start] == '/' {
		rdns, err := parseSlashDN(s, start)
		if err != nil {
			return nil, err
		}
		return expandDNKeys(rdns, keyTyped)
	}

	escaped := dnParser{s: s}
	rdns, err := escaped.parse()
	if err == nil && escaped.spacedEquals == escaped.nattrs {
		// OpenSSL's oneline form: most significant RDN first, as in DER.
		return expandDNKeys(rdns, keyStandard)
	}
	keys, rfcErr := []dnKey(nil), err
	if err == nil {
		slices.Reverse(rdns) // RFC 4514 writes the most significant RDN last
		if escaped.dotnetSeparators {
			addDotnetReadings(rdns) // it could be .NET's
		}
		if keys, rfcErr = expandDNKeys(rdns, keyStandard); rfcErr != nil {
			return nil, rfcErr
		}
	}
	if !strings.Contains(s, `\`) || errors.Is(rfcErr, errDNControl) {
		// The .NET reading is the same, or the name as written holds a
		// control character: it names nothing, whatever else it could say.
		return keys, rfcErr
	}
	dotnet := dnParser{s: s, literalBackslash: true}
	netRDNs, netErr := dotnet.parse()
	oneRDN := escaped.nseps == 0 && dotnet.nseps == 0
	if netErr != nil || !dotnet.dotnetSeparators || dotnet.spacedEquals == dotnet.nattrs || (rfcErr == nil && oneRDN && !escaped.unusualEscape) {
		// Not .NET's form; or one RDN that reads as RFC 4514 with escapes
		// RFC 2253 tools write.
		return keys, rfcErr
	}
	slices.Reverse(netRDNs)
	addDotnetReadings(netRDNs)
	netKeys, netErr := expandDNKeys(netRDNs, keyStandard)
	switch {
	case netErr != nil:
		return nil, netErr
	case rfcErr != nil:
		return netKeys, nil
	case !slices.Equal(keys, netKeys):
		return nil, errors.New(`ambiguous: it reads as one name as .NET prints names (where a backslash is itself) and as another in RFC 4514 (where a backslash escapes): paste "openssl x509 -noout -subject -nameopt RFC2253" output, or quote the value that holds the backslash as .NET does`)
	}
	return keys, nil
}

// parseSlashDN reads OpenSSL's slash form, exactly as X509_NAME_oneline
// writes it: "/" before each RDN, "+" between the attributes of one, most
// significant first. A value is the raw bytes of its string, written as
// they are but for three escapes: "\/" is "/", "\+" is "+", and "\xHH" is
// the byte HH for bytes OpenSSL escapes (below 0x20 or above 0x7E). Any
// other backslash is itself, and quotes, "#" and "," are plain characters.
// The bytes do not say which string type they came from; slashReadings
// turns them into the strings they can stand for.
//
// Two things cannot be told apart in this form and are refused: a value
// ending in a backslash before the next attribute ("CN=a\/O=b" is also
// "CN=a/O=b"), detected as "\/" or "\+" followed by TYPE=; and a literal
// backslash followed by "x" and two hex digits naming an escaped byte, which
// is always read as that byte. So are what earlier versions of the plugin
// read as RFC 4514 in this form, which now means something else: a
// backslash before a character RFC 4514 escapes or two hex digits, a value
// in double quotes, a value of "#" and hex digits.
func parseSlashDN(s string, start int) ([][]dnAttr, error) {
	var rdns [][]dnAttr
	var rdn []dnAttr
	pos := start + 1 // the leading "/"
	nattrs := 0
	for {
		typeStart := pos
		for pos < len(s) && s[pos] != '=' && s[pos] != '/' && s[pos] != '+' {
			pos++
		}
		typ := strings.TrimSpace(s[typeStart:pos])
		if pos == len(s) || s[pos] != '=' {
			if typ == "" {
				return nil, fmt.Errorf("empty RDN at offset %d: two separators in a row or a trailing separator", typeStart)
			}
			return nil, fmt.Errorf(`missing "=" after %q at offset %d: each attribute must be written TYPE=VALUE`, dnShort(typ), typeStart)
		}
		if typ == "" {
			return nil, fmt.Errorf(`empty attribute type before "=" at offset %d`, pos)
		}
		if nattrs++; nattrs > maxDNAttributes {
			return nil, fmt.Errorf("too many attributes (limit %d)", maxDNAttributes)
		}
		oid, err := dnAttrOID(typ)
		if err != nil {
			return nil, err
		}
		pos++ // '='
		valueStart := pos
		var raw []byte
		for pos < len(s) && s[pos] != '/' && s[pos] != '+' {
			c := s[pos]
			if c == '\\' && pos+1 < len(s) && slashOldEscape(s[pos+1:]) {
				return nil, fmt.Errorf(`%q at offset %d: in OpenSSL's slash form a backslash is itself except in \/, \+ and \xHH, and earlier versions of this plugin read %q as an RFC 4514 escape; write the name as RFC 4514 (openssl -nameopt RFC2253)`, s[pos:min(pos+3, len(s))], pos, s[pos:min(pos+3, len(s))])
			}
			if c == '\\' && pos+1 < len(s) {
				switch n := s[pos+1]; {
				case n == '/' || n == '+':
					if slashAttrFollows(s[pos+2:]) {
						return nil, fmt.Errorf(`ambiguous at offset %d: in OpenSSL's slash form %q is either a %q inside the value or a value ending in a backslash before the next attribute; write the name as RFC 4514 (openssl -nameopt RFC2253)`, pos, s[pos:pos+2], string(n))
					}
					raw = append(raw, n)
					pos += 2
					continue
				case n == 'x' && pos+3 < len(s) && isHexDigit(s[pos+2]) && isHexDigit(s[pos+3]):
					if b := dnUnhex(s[pos+2])<<4 | dnUnhex(s[pos+3]); b < 0x20 || b > 0x7e {
						raw = append(raw, b)
						pos += 4
						continue
					}
				}
			}
			raw = append(raw, c)
			pos++
		}
		if v := string(raw); len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' || len(v) >= 3 && v[0] == '#' && len(v)%2 == 1 && strings.Trim(v[1:], "0123456789abcdefABCDEF") == "" {
			return nil, fmt.Errorf(`value of %s at offset %d: in OpenSSL's slash form quotes and "#" are themselves, and earlier versions of this plugin read %q as a quoted or #hex value; write the name as RFC 4514 (openssl -nameopt RFC2253)`, dnShort(typ), valueStart, dnShort(v))
		}
		readings := slashReadings(raw)
		if len(readings) == 0 {
			return nil, fmt.Errorf("value of %s at offset %d: its bytes read as no string without control characters (such as NUL, tab, CR or LF), and names holding control characters never match anything", dnShort(typ), valueStart)
		}
		rdn = append(rdn, dnAttr{oid: oid, isString: true, value: readings[0].value, family: readings[0].family, alts: readings[1:]})
		if pos == len(s) {
			return append(rdns, rdn), nil
		}
		if s[pos] == '/' {
			rdns = append(rdns, rdn)
			rdn = nil
		}
		pos++
	}
}

// slashOldEscape reports whether s, which follows a backslash, starts as an
// RFC 4514 escape would (a special character, a space, or two hex digits).
func slashOldEscape(s string) bool {
	if s[0] == '+' {
		return false // an escape in both
	}
	if strings.ContainsRune(rfc2253Specials, rune(s[0])) {
		return true
	}
	return len(s) >= 2 && isHexDigit(s[0]) && isHexDigit(s[1])
}

// slashAttrFollows reports whether s starts with something that reads as
// "TYPE=": an attribute type name or OID (letters, digits, ".", "-", "_"),
// known to the parser or not.
func slashAttrFollows(s string) bool {
	typ, _, ok := strings.Cut(s, "=")
	if !ok {
		return false
	}
	typ = strings.TrimSpace(typ)
	if typ == "" {
		return false
	}
	for i := 0; i < len(typ); i++ {
		if c := typ[i]; !dnIsAlnum(c) && c != '.' && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// slashReadings returns the strings a slash-form value's bytes can stand
// for, each in the string family it reads as, so that it matches only
// certificates whose string of that family OpenSSL prints this way: bytes
// all ASCII read as themselves (those characters, in any string type, as in
// the other forms); other bytes as UTF-8 (UTF8String, …) where they are
// UTF-8, and as Latin-1 (T61String); and, where a byte is escaped and the
// bytes are not UTF-8 or have a zero high byte in every character, as
// UCS-2 (BMPString) or UCS-4 (UniversalString) big-endian. Readings that
// hold a control character are dropped: such a name never matches. So
// "\x00s\x00t" is the BMPString "st", and "Z\xC3\xBCrich" is the
// UTF8String "Zürich" or the T61String whose bytes those are, but not a
// UTF8String "ZÃ¼rich". A BMPString made only of characters whose two bytes
// are printable ASCII (some CJK characters) prints without any escape and
// is read only as the ASCII it looks like.
func slashReadings(raw []byte) []dnAlt {
	var out []dnAlt
	add := func(s string, family byte, ok bool) {
		if ok && !hasControl(s) {
			out = append(out, dnAlt{value: s, family: family})
		}
	}
	escaped := false
	for _, b := range raw {
		escaped = escaped || b < 0x20 || b > 0x7e
	}
	validUTF8 := utf8.Valid(raw)
	if isASCII(raw) {
		add(string(raw), dnKindASCII, true)
	} else {
		add(string(raw), dnKindUTF8, validUTF8)
		add(latin1(raw), dnKindT61, true)
	}
	// The wide readings only where UTF-8 cannot be what was meant: the
	// bytes are not UTF-8, or they spell Latin-range text in UCS-2 or UCS-4
	// (a zero high byte in every code unit). Otherwise a name with a NUL
	// ("nul\x00byte") would read as a BMPString of unrelated characters.
	if escaped {
		if len(raw)%2 == 0 && (!validUTF8 || zeroEvery(raw, 2, 1)) {
			s, ok := dnDecodeString(dnTagBMPString, raw)
			add(s, dnKindBMP, ok)
		}
		if len(raw)%4 == 0 && (!validUTF8 || zeroEvery(raw, 4, 3)) {
			s, ok := dnDecodeString(dnTagUniversalString, raw)
			add(s, dnKindUniversal, ok)
		}
	}
	return out
}

// zeroEvery reports whether, in every unit of size bytes, the first n bytes
// are zero.
func zeroEvery(raw []byte, size, n int) bool {
	for i := 0; i < len(raw); i += size {
		for _, b := range raw[i : i+n] {
			if b != 0 {
				return false
			}
		}
	}
	return true
}

// errDNControl reports a name holding a control character, which never
// matches (see foldDNValue).
var errDNControl = errors.New("names holding control characters (such as NUL, tab, CR or LF) never match anything")

// maxDNReadings bounds the keys one configured DN compiles to.
const maxDNReadings = 64

// expandDNKeys returns the keys of every combination of the readings of
// the attributes of rdns (see dnAttr.alts), of the given kind, without
// duplicates.
func expandDNKeys(rdns [][]dnAttr, kind dnKeyKind) ([]dnKey, error) {
	n := 1
	for _, rdn := range rdns {
		for _, a := range rdn {
			if n *= 1 + len(a.alts); n > maxDNReadings {
				return nil, fmt.Errorf("its values can be read in more than %d ways (a slash-form value with non-ASCII bytes, or a #hex value in .NET's form, each in several): write it as RFC 4514 (openssl -nameopt RFC2253)", maxDNReadings)
			}
		}
	}
	var keys []dnKey
	choice := make([][]dnAttr, len(rdns))
	for i := 0; i < n; i++ {
		k := i
		for r, rdn := range rdns {
			choice[r] = append(choice[r][:0], rdn...)
			for j := range choice[r] {
				a := &choice[r][j]
				if m := 1 + len(a.alts); m > 1 {
					if pick := k % m; pick > 0 {
						a.value, a.family = a.alts[pick-1].value, a.alts[pick-1].family
					}
					k /= m
				}
			}
		}
		if key, ok := encodeDNKey(choice, kind); ok && !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil, errDNControl
	}
	return keys, nil
}

// addDotnetReadings gives a "#hex" value that is not a string a second
// reading, as .NET prints it: the OCTET STRING holding that DER. .NET
// prints an OCTET STRING value as "#" and the hex of its contents, where
// RFC 4514 gives the hex of the whole value.
func addDotnetReadings(rdns [][]dnAttr) {
	for _, rdn := range rdns {
		for i := range rdn {
			if a := &rdn[i]; !a.isString {
				var b cryptobyte.Builder
				b.AddASN1OctetString([]byte(a.value))
				if der, err := b.Bytes(); err == nil {
					a.alts = append(a.alts, dnAlt{value: string(der)})
				}
			}
		}
	}
}

// latin1 reads the bytes of s as ISO-8859-1, as the plugin decodes
// T61String.
func latin1(s []byte) string {
	var b strings.Builder
	b.Grow(2 * len(s))
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

// dnParser is a single-pass scanner over a comma-separated text DN (every
// form but the slash form).
type dnParser struct {
	s   string
	pos int
	// literalBackslash reads the name as .NET prints it: a backslash is
	// itself, and inside double quotes only "" is special.
	literalBackslash bool
	nattrs           int
	// spacedEquals counts attributes written "TYPE = VALUE", as only
	// OpenSSL's oneline form (most significant RDN first) writes them.
	spacedEquals int
	// nseps counts separators; dotnetSeparators says that every one was
	// written as .NET writes them: ", " between RDNs, " + " inside one.
	nseps            int
	dotnetSeparators bool
	// unusualEscape: some escape is one RFC 2253 tools (OpenSSL, Go) never
	// write, a \XX for a printable character or a backslash before one that
	// needs none, as in .NET's "CN=CORP\700123", where it is no escape.
	unusualEscape bool
}

// isDNSep reports whether c ends an attribute: "," or ";" between RDNs,
// "+" inside one.
func isDNSep(c byte) bool { return c == ',' || c == ';' || c == '+' }

// dotnetSeparator reports whether the separator at p.pos is written as .NET
// writes them: ", " (no space before, one after) or " + ".
func (p *dnParser) dotnetSeparator() bool {
	i, s := p.pos, p.s
	after := i+1 < len(s) && s[i+1] == ' ' && (i+2 == len(s) || s[i+2] != ' ')
	before := i > 0 && s[i-1] == ' '
	switch s[i] {
	case ',':
		return after && !before
	case '+':
		return after && before && (i < 2 || s[i-2] != ' ')
	}
	return false
}

func (p *dnParser) skipSpace() {
	for p.pos < len(p.s) && isDNSpace(p.s[p.pos]) {
		p.pos++
	}
}

func isDNSpace(c byte) bool { return c == ' ' }

func (p *dnParser) parse() ([][]dnAttr, error) {
	var rdns [][]dnAttr
	var rdn []dnAttr
	p.skipSpace()
	p.dotnetSeparators = true
	prevSep := byte(0) // separator before the current attribute, 0 at the start
	for {
		attr, err := p.parseAttr(prevSep)
		if err != nil {
			return nil, err
		}
		rdn = append(rdn, attr)
		if p.pos == len(p.s) {
			return append(rdns, rdn), nil
		}
		// parseAttr stops only at a separator or the end.
		prevSep = p.s[p.pos]
		p.nseps++
		p.dotnetSeparators = p.dotnetSeparators && p.dotnetSeparator()
		p.pos++
		if prevSep != '+' {
			rdns = append(rdns, rdn)
			rdn = nil
		}
	}
}

// parseAttr parses TYPE=VALUE and leaves p.pos at the following separator
// or at the end of input.
func (p *dnParser) parseAttr(prevSep byte) (dnAttr, error) {
	p.skipSpace()
	start := p.pos
	if p.pos == len(p.s) || isDNSep(p.s[p.pos]) {
		switch {
		case prevSep == '+':
			return dnAttr{}, fmt.Errorf(`empty attribute after "+" at offset %d: "+" must join two TYPE=VALUE attributes`, start)
		case prevSep == 0:
			return dnAttr{}, fmt.Errorf("empty RDN at offset %d: the name must start with TYPE=VALUE", start)
		default:
			return dnAttr{}, fmt.Errorf("empty RDN at offset %d: two separators in a row or a trailing separator", start)
		}
	}

	p.nattrs++
	if p.nattrs > maxDNAttributes {
		return dnAttr{}, fmt.Errorf("too many attributes (limit %d)", maxDNAttributes)
	}

	for p.pos < len(p.s) && p.s[p.pos] != '=' && !isDNSep(p.s[p.pos]) {
		p.pos++
	}
	typ := strings.TrimSpace(p.s[start:p.pos])
	if p.pos == len(p.s) || p.s[p.pos] != '=' {
		return dnAttr{}, fmt.Errorf(`missing "=" after %q at offset %d: each attribute must be written TYPE=VALUE`, dnShort(typ), start)
	}
	if typ == "" {
		return dnAttr{}, fmt.Errorf(`empty attribute type before "=" at offset %d`, p.pos)
	}
	oid, err := dnAttrOID(typ)
	if err != nil {
		return dnAttr{}, err
	}
	if p.s[p.pos-1] == ' ' && p.pos+1 < len(p.s) && p.s[p.pos+1] == ' ' {
		p.spacedEquals++
	}
	p.pos++ // '='
	p.skipSpace()

	if p.pos < len(p.s) && p.s[p.pos] == '#' {
		at := p.pos
		a, err := p.parseHexValue(oid)
		if err != nil {
			return dnAttr{}, err
		}
		return a, checkNoControl(a, typ, at)
	}
	valueStart := p.pos
	var buf []byte
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		buf, err = p.parseQuotedValue()
	} else {
		buf, err = p.parsePlainValue()
	}
	if err != nil {
		return dnAttr{}, err
	}
	if !utf8.Valid(buf) {
		return dnAttr{}, fmt.Errorf(`value of %s at offset %d is not valid UTF-8 after unescaping (\XX escapes must spell UTF-8 bytes)`, dnShort(typ), valueStart)
	}
	a := dnAttr{oid: oid, isString: true, value: string(buf)}
	return a, checkNoControl(a, typ, valueStart)
}

// checkNoControl rejects a string value holding a control character: such
// a name never matches (see foldDNValue), so a policy naming it is a
// mistake.
func checkNoControl(a dnAttr, typ string, at int) error {
	if !a.isString {
		return nil
	}
	if i := strings.IndexFunc(a.value, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(a.value[i:])
		return fmt.Errorf("value of %s at offset %d holds the control character %U: %w", dnShort(typ), at, r, errDNControl)
	}
	return nil
}

// parsePlainValue reads an unquoted value up to the next separator.
func (p *dnParser) parsePlainValue() ([]byte, error) {
	var buf []byte
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if isDNSep(c) {
			break
		}
		if c == '\\' && !p.literalBackslash {
			var err error
			if buf, err = p.unescape(buf); err != nil {
				return nil, err
			}
			continue
		}
		buf = append(buf, c)
		p.pos++
	}
	return buf, nil
}

// parseQuotedValue reads a double-quoted value (RFC 1779/2253 and .NET):
// "" stands for one quote and backslash escapes are honoured.
func (p *dnParser) parseQuotedValue() ([]byte, error) {
	open := p.pos
	p.pos++
	buf := []byte{}
	for {
		if p.pos == len(p.s) {
			return nil, fmt.Errorf(`unterminated quoted value starting at offset %d: add the closing '"' (write "" or \" for a literal quote)`, open)
		}
		c := p.s[p.pos]
		switch {
		case c == '"' && p.pos+1 < len(p.s) && p.s[p.pos+1] == '"':
			buf = append(buf, '"')
			p.pos += 2
		case c == '"':
			p.pos++
			p.skipSpace()
			if p.pos < len(p.s) && !isDNSep(p.s[p.pos]) {
				return nil, fmt.Errorf("unexpected %q at offset %d after the closing quote of the value starting at offset %d: expected \",\", \";\" or \"+\" or the end of the name", p.charAt(), p.pos, open)
			}
			return buf, nil
		case c == '\\' && !p.literalBackslash:
			var err error
			if buf, err = p.unescape(buf); err != nil {
				return nil, err
			}
		default:
			buf = append(buf, c)
			p.pos++
		}
	}
}

// rfc2253Specials are the characters RFC 2253 tools escape with a
// backslash.
const rfc2253Specials = ` ,+"\<>;=#`

// unescape decodes the backslash escape at p.pos and appends it to buf.
// "\XX" is a hex byte; a backslash before any other
// ASCII punctuation or a space is that character. Anything else is rejected
// rather than guessed.
func (p *dnParser) unescape(buf []byte) ([]byte, error) {
	at := p.pos
	p.pos++
	if p.pos == len(p.s) {
		return nil, fmt.Errorf(`trailing backslash at offset %d: write \\ for a literal backslash`, at)
	}
	c := p.s[p.pos]
	if isHexDigit(c) {
		if p.pos+1 < len(p.s) && isHexDigit(p.s[p.pos+1]) {
			b := dnUnhex(c)<<4 | dnUnhex(p.s[p.pos+1])
			p.unusualEscape = p.unusualEscape || (b >= ' ' && b <= '~' && !strings.ContainsRune(rfc2253Specials, rune(b)))
			buf = append(buf, b)
			p.pos += 2
			return buf, nil
		}
	} else if c >= ' ' && c <= '~' && !dnIsAlnum(c) {
		p.unusualEscape = p.unusualEscape || !strings.ContainsRune(rfc2253Specials, rune(c))
		p.pos++
		return append(buf, c), nil
	}
	end := min(at+3, len(p.s))
	return nil, fmt.Errorf(`invalid escape %q at offset %d: use \XX with two hex digits, or a backslash before a space or punctuation such as , + ; " \ < > = # /`, p.s[at:end], at)
}

// parseHexValue reads a "#hex" value: the DER encoding of the attribute
// value (RFC 4514 section 2.4). String types become strings, so that
// "CN=#0c03616263" and "CN=abc" are the same name.
func (p *dnParser) parseHexValue(oid string) (dnAttr, error) {
	at := p.pos
	p.pos++ // '#'
	start := p.pos
	for p.pos < len(p.s) && isHexDigit(p.s[p.pos]) {
		p.pos++
	}
	digits := p.s[start:p.pos]
	p.skipSpace()
	if p.pos < len(p.s) && !isDNSep(p.s[p.pos]) {
		return dnAttr{}, fmt.Errorf(`invalid character %q at offset %d in #hex value: after "#" only hex digits are allowed (write \# for a value starting with a literal "#")`, p.charAt(), p.pos)
	}
	if digits == "" {
		return dnAttr{}, fmt.Errorf(`empty #hex value at offset %d (write \# for a literal "#")`, at)
	}
	if len(digits)%2 != 0 {
		return dnAttr{}, fmt.Errorf("odd number of hex digits in #hex value at offset %d", at)
	}
	der, err := hex.DecodeString(digits)
	if err != nil {
		return dnAttr{}, fmt.Errorf("invalid #hex value at offset %d: %v", at, err)
	}
	v, ok := berValue(der)
	if !ok {
		return dnAttr{}, fmt.Errorf("#hex value at offset %d is not a single BER-encoded ASN.1 value (a string, or a value in DER)", at)
	}
	return dnAttrFromDER(oid, v), nil
}

// berValue reads one ASN.1 value written in BER, as RFC 4514 allows after
// "#", and returns it as DER, which is how certificates encode it: DER as
// is; otherwise a primitive value with a long or non-minimal length, or a
// string in the constructed encoding (segments, definite or indefinite
// length). A BER constructed value that is not a string would need
// re-encoding throughout, and is refused.
func berValue(b []byte) (derValue, bool) {
	input := cryptobyte.String(b)
	der, derOK := readDERValue(&input)
	derOK = derOK && input.Empty()
	if derOK && !(der.tag&0xe0 == 0x20 && berStringTags[byte(der.tag)&0x1f]) {
		return der, true // DER, and not a string in the constructed encoding, which DER forbids
	}
	tag, content, rest, ok := readBER(b, 0)
	if !ok || len(rest) != 0 {
		// Not a constructed string after all: a value compared by its DER,
		// as the certificate's side compares it.
		return der, derOK
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.Tag(tag), func(c *cryptobyte.Builder) { c.AddBytes(content) })
	full, err := out.Bytes()
	if err != nil {
		return derValue{}, false
	}
	return derValue{tag: cbasn1.Tag(tag), contents: content, full: full}, true
}

// berStringTags are the universal string types, which BER may also encode
// constructed: a sequence of segments of the same type.
var berStringTags = map[byte]bool{
	12: true, 18: true, 19: true, 20: true, 21: true, 22: true, 25: true, 26: true, 27: true, 28: true, 30: true,
}

// readBER reads one BER element of b and returns its tag (primitive, for a
// constructed string), its contents (a constructed string's segments
// joined) and what follows it.
func readBER(b []byte, depth int) (tag byte, content, rest []byte, ok bool) {
	if len(b) < 2 || depth > 8 || b[0]&0x1f == 0x1f {
		return 0, nil, nil, false
	}
	tag, l, b := b[0], b[1], b[2:]
	constructed := tag&0x20 != 0
	if constructed && (tag&0xc0 != 0 || !berStringTags[tag&0x1f]) {
		return 0, nil, nil, false
	}
	var body []byte
	indefinite := l == 0x80
	switch {
	case indefinite:
		if !constructed {
			return 0, nil, nil, false
		}
		body = b
	case l&0x80 != 0:
		n := int(l & 0x7f)
		if n > 4 || len(b) < n {
			return 0, nil, nil, false
		}
		var length uint64
		for _, c := range b[:n] {
			length = length<<8 | uint64(c)
		}
		if b = b[n:]; length > uint64(len(b)) {
			return 0, nil, nil, false
		}
		body, rest = b[:length], b[length:]
	default:
		if int(l) > len(b) {
			return 0, nil, nil, false
		}
		body, rest = b[:l], b[l:]
	}
	if !constructed {
		return tag, body, rest, true
	}
	primitive := tag &^ 0x20
	for {
		if indefinite && len(body) >= 2 && body[0] == 0 && body[1] == 0 {
			return primitive, content, body[2:], true
		}
		if !indefinite && len(body) == 0 {
			return primitive, content, rest, true
		}
		segTag, seg, more, ok := readBER(body, depth+1)
		if !ok || segTag != primitive {
			return 0, nil, nil, false
		}
		content = append(content, seg...)
		body = more
	}
}

// dnAttrOID resolves an attribute type written as a short name or a dotted
// OID (optionally prefixed with "OID.") to its canonical dotted form.
func dnAttrOID(typ string) (string, error) {
	if len(typ) >= 4 && strings.EqualFold(typ[:4], "oid.") {
		return dnParseOID(typ[4:], typ)
	}
	upper := strings.ToUpper(typ)
	if oid, ok := dnAttrTypes[upper]; ok {
		return oid, nil
	}
	if oid, ok := dotnetAttrTypes[upper]; ok {
		return oid, nil
	}
	if typ[0] >= '0' && typ[0] <= '9' {
		return dnParseOID(typ, typ)
	}
	return "", fmt.Errorf("unknown attribute type %q: use a known name such as CN, O, OU, C, L, ST, DC, UID, emailAddress or a dotted OID", dnShort(typ))
}

// dnParseOID validates a dotted-decimal OID and returns it in the form
// asn1.ObjectIdentifier.String prints, so that text and DER keys agree.
// Only OIDs that encoding/asn1 (and so crypto/x509) can decode are accepted;
// any other could never match a certificate.
func dnParseOID(s, typ string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("invalid OID %q in attribute type: %s (expected dotted decimal such as 2.5.4.3, optionally prefixed with OID.)", dnShort(typ), why)
	}
	arcs := strings.Split(s, ".")
	var first, second uint64
	for i, arc := range arcs {
		if arc == "" {
			return bad("empty arc")
		}
		for j := 0; j < len(arc); j++ {
			if arc[j] < '0' || arc[j] > '9' {
				return bad(fmt.Sprintf("arc %q is not a decimal number", dnShort(arc)))
			}
		}
		if len(arc) > 1 && arc[0] == '0' {
			return bad("arc with a leading zero")
		}
		v, err := strconv.ParseUint(arc, 10, 31)
		if err != nil {
			return bad(fmt.Sprintf("arc %s is too large", dnShort(arc)))
		}
		switch i {
		case 0:
			first = v
		case 1:
			second = v
		}
	}
	switch {
	case len(arcs) < 2:
		return bad("an OID has at least two arcs")
	case first > 2:
		return bad("the first arc must be 0, 1 or 2")
	case first < 2 && second > 39:
		return bad("the second arc must be at most 39 when the first is 0 or 1")
	case second > math.MaxInt32-80:
		return bad(fmt.Sprintf("arc %d is too large", second))
	}
	return s, nil
}

// charAt returns the character at p.pos, for error messages.
func (p *dnParser) charAt() string {
	_, size := utf8.DecodeRuneInString(p.s[p.pos:])
	return p.s[p.pos : p.pos+size]
}

// dnShort shortens s for an error message.
func dnShort(s string) string {
	const maxLen = 64
	if len(s) <= maxLen {
		return s
	}
	i := maxLen
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

func dnUnhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

func dnIsAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
