package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/qfsign/qfsign/qfpaytest"
)

// The dashboard (deploy/grafana) and the alert rules (deploy/prometheus)
// name metrics in PromQL; each name must be one the gateway exposes once
// traffic of every kind went through it, or a panel stays empty and an
// alert never fires.

var (
	promqlString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promqlRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	grafanaLabels  = regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,`)
	promqlKeywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
		"group_left", "group_right", "inf", "nan", "atan2"}
)

// promqlMetrics returns the metric names an expression selects: the
// identifiers left once strings, label matchers, ranges and grouping
// clauses are removed, that are neither functions, keywords nor units.
func promqlMetrics(expr string) []string {
	if m := grafanaLabels.FindStringSubmatch(expr); m != nil {
		return []string{m[1]}
	}
	s := promqlString.ReplaceAllString(expr, " ")
	s = promqlMatchers.ReplaceAllString(s, " ")
	s = promqlRange.ReplaceAllString(s, " ")
	s = promqlGrouping.ReplaceAllString(s, " ")
	var out []string
	for _, loc := range promqlIdent.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsAny(s[loc[0]-1:loc[0]], "0123456789.$") {
			continue // a duration or number suffix, or a Grafana variable
		}
		if rest := strings.TrimLeft(s[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function or aggregation
		}
		if slices.Contains(promqlKeywords, strings.ToLower(name)) {
			continue
		}
		out = append(out, name)
	}
	return out
}

func TestPromqlMetrics(t *testing.T) {
	for _, tt := range []struct{ expr, want string }{
		{`sum by (merchant, rule) (rate(qfsign_sign_refusals_total{merchant=~"$merchant"}[$__rate_interval])) > 0.1`, "qfsign_sign_refusals_total"},
		{`time() - qfsign_key_last_success_timestamp_seconds > 1800`, "qfsign_key_last_success_timestamp_seconds"},
		{`a / on (merchant) group_left sum by (merchant) (rate(b[10m] offset 5m))`, "a b"},
		{`histogram_quantile(0.95, sum by (le) (rate(x_bucket{le="+Inf"}[5m]))) or vector(0)`, "x_bucket"},
		{`label_values(qfsign_requests_total, merchant)`, "qfsign_requests_total"},
	} {
		if got := strings.Join(promqlMetrics(tt.expr), " "); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// referencedMetrics reads every expression of the dashboard and the rules.
func referencedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	where := map[string][]string{} // metric -> panels and alerts naming it
	raw, err := os.ReadFile("../deploy/grafana/qfsign.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range promqlMetrics(tg.Expr) {
				where[m] = append(where[m], "panel "+p.Title)
			}
		}
	}
	for _, v := range dash.Templating.List {
		for _, m := range promqlMetrics(v.Definition) {
			where[m] = append(where[m], "variable")
		}
	}
	raw, err = os.ReadFile("../deploy/prometheus/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert, Expr string
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			for _, m := range promqlMetrics(r.Expr) {
				where[m] = append(where[m], "alert "+r.Alert)
			}
		}
	}
	return where
}

// exposedSeries is the set of metric names with at least one sample.
func exposedSeries(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for series := range scrape(t, fmt.Sprintf("http://localhost:%d/metrics", adminPort)) {
		names[series[:strings.IndexAny(series+"{", "{")]] = true
	}
	return names
}

// metricsTraffic sends traffic of every kind through real gateways:
// payments answered, refused and resolved by query; a Vault-backed key;
// a notification the application refuses; a store that is down. The
// collectors outlive config loads, so the last gateway exposes it all.
func metricsTraffic(t *testing.T) {
	s := newGuardSetup(t, storeMemory, "resolve_pending 5s 50ms", "")
	s.pay(t, payForm(s.otn("ok"), 1500))
	s.pay(t, payForm(s.otn("bad"), 0))
	pending := s.otn("pending")
	s.double.Script(qfpaytest.Outcome{OutTradeNo: pending, Respcd: "1143", FinalRespcd: "0000"})
	if r := s.pay(t, payForm(pending, 1500)); r.resolved != "query" {
		t.Fatalf("pending payment not resolved by query: %+v", r)
	}

	vs := newVaultSetup(t)
	vs.start(t, "", "")
	vs.waitReady(t, true, 5*time.Second)

	v := loadNotifyVector(t)
	v.Body = strings.Replace(v.Body, "20200413000300020087033882", "20200413000300020087031717", 1)
	v.MD5 = md5Upper(v.Body + v.ClientKey)
	app := newApplication(t)
	app.status.Store(http.StatusInternalServerError)
	if resp, _ := notifyGateway(t, v, app).post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("application failure answered %d", resp.StatusCode)
	}

	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	gw := startGatewayRaw(t, replicaConfig(adminPort, fmt.Sprintf("127.0.0.1:%d", freePort(t)), dead, strings.TrimPrefix(app.URL, "http://")))
	if resp, _ := gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("store down answered %d", resp.StatusCode)
	}
}

// TestDashboardAndAlertMetricsExposed: every metric a panel, the merchant
// variable or an alert names has samples on a real gateway's /metrics.
func TestDashboardAndAlertMetricsExposed(t *testing.T) {
	metricsTraffic(t)
	exposed := exposedSeries(t)
	referenced := referencedMetrics(t)
	if len(referenced) < 10 {
		t.Fatalf("only %d metric names found in the dashboard and rules: %v", len(referenced), referenced)
	}
	for name, users := range referenced {
		if !exposed[name] {
			t.Errorf("%s is not exposed by the gateway; named by %s", name, strings.Join(slices.Compact(users), ", "))
		}
	}
}
