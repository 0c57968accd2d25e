// Command benchtool is the helper of the load harness (bench/run.sh,
// `make bench`). It is not part of the plugin.
//
//	benchtool probe -url URL [-cert F -key F] -ca F [-h2] -want 200|403|refused [-body TEXT]
//	    sends one request on a fresh connection and fails unless the answer
//	    is the expected one (run before every measured configuration).
//	benchtool summary FILE
//	    prints one line for a `vegeta report -type=json` file.
//	benchtool cputime [-hz N] PID
//	    prints the CPU seconds used by PID and its descendants.
//	benchtool manycerts -caddy BIN -caddyfile F -dir DIR -port N -admin-port N [-n 10000]
//	    the "10,000 distinct client certificates" row: issues N client
//	    certificates from a fresh test PKI, starts Caddy with one trust_pool
//	    policy, opens one connection per certificate and records Caddy's RSS
//	    (/proc/PID/status) and live Go heap (after a forced GC) as it goes.
//	benchtool table -dir DIR [-out FILE]
//	    prints the results table (markdown) from what run.sh recorded in DIR.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "probe":
		err = probe(os.Args[2:])
	case "summary":
		err = summary(os.Args[2:])
	case "cputime":
		err = cputime(os.Args[2:])
	case "manycerts":
		err = manyCerts(os.Args[2:])
	case "table":
		err = table(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchtool %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchtool probe|summary|cputime|manycerts|table [flags]; see bench/cmd/benchtool/main.go")
	os.Exit(2)
}
