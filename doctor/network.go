package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Network is how the reachability checks dial; the zero value uses the
// system resolver and roots with a 5 s timeout per step.
type Network struct {
	Timeout  time.Duration
	Resolver *net.Resolver
	// RootCAs verifies QFPay's certificate; nil means the system roots,
	// as the gateway uses.
	RootCAs *x509.CertPool
	// Now is the clock for certificate expiry; nil means time.Now.
	Now func() time.Time
}

// certWarning is how close to expiry QFPay's certificate earns a warning.
const certWarning = 14 * 24 * time.Hour

func (n Network) timeout() time.Duration {
	if n.Timeout > 0 {
		return n.Timeout
	}
	return 5 * time.Second
}

// Reach checks base step by step (DNS, TCP, TLS, HTTP) as the gateway
// would reach it, and reports whether HTTP answered: the signed query
// runs only then. client is the gateway's own client for QFPay.
func (n Network) Reach(ctx context.Context, base *url.URL, client *http.Client) ([]Check, bool) {
	r := &Report{}
	const scope = "qfpay"
	host, port := base.Hostname(), base.Port()
	addr, ok := n.resolve(ctx, r, scope, host)
	if !ok {
		skipAfter(r, scope, "DNS", "tcp", "tls", "http")
		return r.Checks, false
	}
	d := net.Dialer{Timeout: n.timeout()}
	start := time.Now()
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(addr, port))
	if err != nil {
		r.Add(scope, "tcp", Fail, "%s:%s: %v", host, port, err)
		skipAfter(r, scope, "TCP", "tls", "http")
		return r.Checks, false
	}
	r.Add(scope, "tcp", OK, "connected to %s in %s", conn.RemoteAddr(), since(start))
	if base.Scheme == "https" {
		ok = n.handshake(ctx, r, scope, conn, host)
	} else {
		conn.Close()
		plainHTTP(r, scope, host)
	}
	if !ok {
		skipAfter(r, scope, "TLS", "http")
		return r.Checks, false
	}
	return r.Checks, n.get(ctx, r, scope, base, client)
}

func (n Network) resolve(ctx context.Context, r *Report, scope, host string) (string, bool) {
	if ip := net.ParseIP(host); ip != nil {
		r.Add(scope, "dns", OK, "%s is an IP address: no lookup", host)
		return host, true
	}
	res := n.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout())
	defer cancel()
	start := time.Now()
	addrs, err := res.LookupHost(ctx, host)
	if err != nil || len(addrs) == 0 {
		r.Add(scope, "dns", Fail, "%s: %v", host, err)
		return "", false
	}
	r.Add(scope, "dns", OK, "%s is %s (%s)", host, strings.Join(addrs, ", "), since(start))
	return addrs[0], true
}

func (n Network) handshake(ctx context.Context, r *Report, scope string, conn net.Conn, host string) bool {
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, n.timeout())
	defer cancel()
	tc := tls.Client(conn, &tls.Config{ServerName: host, RootCAs: n.RootCAs, MinVersion: tls.VersionTLS12})
	start := time.Now()
	if err := tc.HandshakeContext(ctx); err != nil {
		r.Add(scope, "tls", Fail, "%s: %v", host, err)
		return false
	}
	st := tc.ConnectionState()
	leaf := st.PeerCertificates[0]
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	status := OK
	if leaf.NotAfter.Sub(now()) < certWarning {
		status = Warn
	}
	r.Add(scope, "tls", status, "%s, certificate for %s by %s, expires %s (%s)", tls.VersionName(st.Version),
		host, leaf.Issuer.CommonName, leaf.NotAfter.UTC().Format(time.DateOnly), since(start))
	return true
}

// plainHTTP: http is expected for a double or a proxy on loopback only.
func plainHTTP(r *Report, scope, host string) {
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		r.Add(scope, "tls", Skip, "plain http to a loopback address (a QFPay double or a local proxy)")
		return
	}
	r.Add(scope, "tls", Warn, "plain http to %s: requests and QFPay's answers are not encrypted", host)
}

func (n Network) get(ctx context.Context, r *Report, scope string, base *url.URL, client *http.Client) bool {
	ctx, cancel := context.WithTimeout(ctx, n.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.String()+"/", nil)
	if err != nil {
		r.Add(scope, "http", Fail, "%v", err)
		return false
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		r.Add(scope, "http", Fail, "GET %s/: %v", base, err)
		return false
	}
	resp.Body.Close()
	r.Add(scope, "http", OK, "GET %s/ answered HTTP %d in %s", base, resp.StatusCode, since(start))
	return true
}

// skipAfter marks the remaining steps as not run because of step.
func skipAfter(r *Report, scope, step string, names ...string) {
	for _, name := range names {
		r.Add(scope, name, Skip, "not run: %s failed", step)
	}
}

func since(t time.Time) string {
	return fmt.Sprint(time.Since(t).Round(time.Microsecond))
}
