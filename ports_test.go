// ports_test.go: free ports for the tests that start Caddy.

package clientcertificate_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// pickFreePort returns a port free for TCP and UDP on this machine and not
// in taken, preferably below the kernel's ephemeral range, so that no
// outgoing connection (of this suite or of anything else on the machine)
// can take it between now and Caddy binding it.
func pickFreePort(taken map[int]bool) (int, error) {
	low := ephemeralLow()
	for try := range 200 {
		var p int
		if low > 12000 && try < 150 {
			p = 10000 + int(rand.Int64N(int64(low-10000)))
		} else {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return 0, err
			}
			p = l.Addr().(*net.TCPAddr).Port
			l.Close()
		}
		if taken[p] {
			continue
		}
		tl, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
		if err != nil {
			continue
		}
		ul, err := net.ListenPacket("udp", fmt.Sprintf(":%d", p))
		tl.Close()
		if err != nil {
			continue
		}
		ul.Close()
		return p, nil
	}
	return 0, errors.New("no free port")
}

// ephemeralLow is the lowest port the kernel hands out to outgoing
// connections (Linux), or 0 if unknown.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return 0
	}
	low, _ := strconv.Atoi(fields[0])
	return low
}
