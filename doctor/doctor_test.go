package doctor

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qfsign/qfsign/store"
)

func TestQueryVerdict(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   Status
		detail string
	}{
		{"accepted", 200, `{"respcd":"0000","data":[]}`, OK, "accepted app_code and signature"},
		{"signature", 200, `{"respcd":"1108","resperr":"sign error"}`, Fail, "rejected the signature (respcd 1108 sign error)"},
		{"unknown app_code", 200, `{"respcd":"1150"}`, Fail, "does not know the app_code"},
		{"1100", 200, `{"respcd":"1100"}`, Fail, "another environment"},
		{"other code", 200, `{"respcd":"1297","resperr":"x\ny"}`, Fail, `respcd 1297 "x\ny"`},
		{"not JSON", 200, `<html>`, Fail, "no respcd"},
		{"HTTP error", 502, `{"respcd":"0000"}`, Fail, "HTTP 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, d := QueryVerdict(tt.status, []byte(tt.body))
			if s != tt.want || !strings.Contains(d, tt.detail) {
				t.Errorf("%s %q, want %s containing %q", s, d, tt.want, tt.detail)
			}
		})
	}
	if a, b := ProbeOrderNo(), ProbeOrderNo(); a == b || !strings.HasPrefix(a, "qfsign-doctor-") || len(a) > 128 {
		t.Errorf("probe order numbers %q %q", a, b)
	}
}

// failing is a store whose every operation fails, or whose reads lie.
type failing struct {
	store.Store
	op   string
	lies bool
}

func (f failing) Put(ctx context.Context, k, v string, ttl time.Duration) error {
	if f.op == "put" {
		return errors.New("down")
	}
	return f.Store.Put(ctx, k, v, ttl)
}

func (f failing) Get(ctx context.Context, k string) (string, bool, error) {
	v, ok, err := f.Store.Get(ctx, k)
	if f.lies {
		return v + "x", ok, err
	}
	return v, ok, err
}

func (f failing) Delete(ctx context.Context, k string) error {
	if f.op == "delete" {
		return nil // pretends, keeps the record
	}
	return f.Store.Delete(ctx, k)
}

func TestProbeStore(t *testing.T) {
	for _, tt := range []struct {
		name   string
		st     store.Store
		want   Status
		detail string
	}{
		{"memory", store.NewMemory(0), OK, "written, read back and deleted"},
		{"write fails", failing{Store: store.NewMemory(0), op: "put"}, Fail, "write: down"},
		{"read differs", failing{Store: store.NewMemory(0), lies: true}, Fail, "read: the record read back differs"},
		{"delete ignored", failing{Store: store.NewMemory(0), op: "delete"}, Fail, "still there"},
		{"full", store.NewMemory(1), OK, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := ProbeStore(context.Background(), tt.st, "test store")
			if c.Status != tt.want || !strings.Contains(c.Detail, tt.detail) || !strings.HasPrefix(c.Detail, "test store: ") {
				t.Errorf("%s %q, want %s containing %q", c.Status, c.Detail, tt.want, tt.detail)
			}
		})
	}
	full := store.NewMemory(1)
	_ = full.Put(context.Background(), "other", "v", time.Hour)
	if c := ProbeStore(context.Background(), full, "full"); c.Status != Fail || !strings.Contains(c.Detail, store.ErrFull.Error()) {
		t.Errorf("a full store: %+v", c)
	}
}

func TestAdminCheck(t *testing.T) {
	for _, tt := range []struct {
		enabled bool
		listen  string
		want    Status
	}{
		{false, "localhost:2019", OK},
		{true, "localhost:2019", Warn},
		{true, "127.0.0.1:2019", Warn},
		{true, "[::1]:2019", Warn},
		{true, "unix//run/qfsign/admin.sock", OK},
		{true, "0.0.0.0:2019", Fail},
		{true, ":2019", Fail},
		{true, "10.0.0.1:2019", Fail},
	} {
		if c := adminCheck(tt.enabled, tt.listen); c.Status != tt.want {
			t.Errorf("enabled %v listen %q: %s %q, want %s", tt.enabled, tt.listen, c.Status, c.Detail, tt.want)
		}
	}
}

func TestNotifyRoutes(t *testing.T) {
	notify := `{"handler":"qfpay_notify","merchant":"m"}`
	proxy := `{"handler":"reverse_proxy"}`
	for _, tt := range []struct {
		name, routes string
		warnings     int
	}{
		{"proxy after, same handle", `[{"handle":[` + notify + `,` + proxy + `]}]`, 0},
		{"proxy in a later unmatched route", `[{"handle":[` + notify + `]},{"handle":[` + proxy + `]}]`, 0},
		{"proxy only under another path", `[{"handle":[` + notify + `]},{"match":[{"path":["/x"]}],"handle":[` + proxy + `]}]`, 1},
		{"subroute then proxy", `[{"handle":[{"handler":"subroute","routes":[{"handle":[` + notify + `]}]},` + proxy + `]}]`, 0},
		{"nothing after", `[{"handle":[{"handler":"subroute","routes":[{"handle":[` + notify + `]}]}]}]`, 1},
		{"proxy before only", `[{"handle":[` + proxy + `]},{"handle":[` + notify + `]}]`, 1},
		{"proxy to an empty placeholder", `[{"handle":[` + notify + `,{"handler":"reverse_proxy","upstreams":[{"dial":"{env.QFSIGN_T_UNSET_NOTIFY}"}]}]}]`, 1},
		{"proxy to an address", `[{"handle":[` + notify + `,{"handler":"reverse_proxy","upstreams":[{"dial":"{env.QFSIGN_T_UNSET_NOTIFY}"},{"dial":"127.0.0.1:9"}]}]}]`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var rs []route
			if err := json.Unmarshal([]byte(tt.routes), &rs); err != nil {
				t.Fatal(err)
			}
			w, n := notifyRoutes("srv0", rs, false)
			if len(w) != tt.warnings || n != 1 {
				t.Errorf("%d warnings, %d handlers: %+v", len(w), n, w)
			}
		})
	}
}

func TestLiteralSecrets(t *testing.T) {
	c := literalSecrets(json.RawMessage(`{"merchants":{"a":{"client_key":"{env.K}"},"b":{"client_key":"plain"}},"store":{"password":"pw"},"vault":{"auth":{"token":"{file./t}"}}}`))
	if len(c) != 1 || c[0].Status != Warn || c[0].Detail[:strings.Index(c[0].Detail, ":")] != "merchant b client_key, store password" {
		t.Fatalf("%+v", c)
	}
	if strings.Contains(c[0].Detail, "plain") || strings.Contains(c[0].Detail, "pw,") {
		t.Errorf("a secret's value shows: %q", c[0].Detail)
	}
}

// TestReachTLS: a TLS server the given roots trust; an expiring
// certificate warns; an untrusted one fails and skips HTTP.
func TestReachTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	nw := Network{RootCAs: roots, Now: func() time.Time { return srv.Certificate().NotAfter.Add(-30 * 24 * time.Hour) }}
	checks, ok := nw.Reach(context.Background(), base, srv.Client())
	if !ok || statusOf(checks, "tls") != OK || statusOf(checks, "http") != OK {
		t.Fatalf("trusted: ok %v %+v", ok, checks)
	}
	nw.Now = func() time.Time { return srv.Certificate().NotAfter.Add(-time.Hour) }
	if checks, _ := nw.Reach(context.Background(), base, srv.Client()); statusOf(checks, "tls") != Warn {
		t.Errorf("expiring: %+v", checks)
	}
	checks, ok = Network{}.Reach(context.Background(), base, srv.Client())
	if ok || statusOf(checks, "tls") != Fail || statusOf(checks, "http") != Skip {
		t.Errorf("untrusted: ok %v %+v", ok, checks)
	}
}

func TestReachDNS(t *testing.T) {
	base, _ := url.Parse("https://qfsign-doctor.invalid:443")
	checks, ok := Network{Timeout: time.Second}.Reach(context.Background(), base, http.DefaultClient)
	if ok || statusOf(checks, "dns") != Fail || statusOf(checks, "tcp") != Skip {
		t.Errorf("ok %v %+v", ok, checks)
	}
}

func statusOf(cs []Check, name string) Status {
	for _, c := range cs {
		if c.Name == name {
			return c.Status
		}
	}
	return ""
}

func TestReportOutput(t *testing.T) {
	r := &Report{Config: "Caddyfile"}
	r.Add("config", "validate", OK, "fine")
	r.Add("qfpay", "tcp", Fail, "refused")
	r.Add("qfpay", "http", Skip, "not run")
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"qfsign doctor: Caddyfile\n", "\nqfpay\n  FAIL  tcp", "FAILED: 1 ok, 0 warnings, 1 failed, 1 skipped\n"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var out struct {
		OK     bool
		Counts map[Status]int
		Checks []Check
	}
	if err := json.Unmarshal(js.Bytes(), &out); err != nil || out.OK || out.Counts[Fail] != 1 || len(out.Checks) != 3 {
		t.Errorf("json %s: %v", js.String(), err)
	}
}
