// Package grafana_test checks the dashboard: valid JSON of the shape
// Grafana imports, unique panel ids, every query on the datasource
// variable, and every PromQL expression accepted by promtool's parser
// (the expressions go into a temporary rule file with Grafana's variables
// replaced). That the metrics exist is checked against a running gateway
// in tests/observability_test.go.
package grafana_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

type target struct {
	RefID      string `json:"refId"`
	Expr       string `json:"expr"`
	Datasource struct {
		UID string `json:"uid"`
	} `json:"datasource"`
}

type panel struct {
	ID      int      `json:"id"`
	Type    string   `json:"type"`
	Title   string   `json:"title"`
	Desc    string   `json:"description"`
	Targets []target `json:"targets"`
}

type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
}

func load(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile("qfsign.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDashboardShape: ids, titles, descriptions and the datasource variable.
func TestDashboardShape(t *testing.T) {
	d := load(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q title %q", d.UID, d.Title)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" || vars["merchant"] != "query" {
		t.Errorf("template variables %v, want datasource and merchant", vars)
	}
	ids := map[int]bool{}
	queries := 0
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Title == "" || p.Desc == "" || len(p.Targets) == 0 {
			t.Errorf("panel %d %q: needs a title, a description and a query", p.ID, p.Title)
		}
		for _, tg := range p.Targets {
			queries++
			if tg.Datasource.UID != "${datasource}" || tg.Expr == "" {
				t.Errorf("panel %q query %s: datasource %q, expr %q", p.Title, tg.RefID, tg.Datasource.UID, tg.Expr)
			}
		}
	}
	if queries < 15 {
		t.Errorf("%d queries; the issue's seven areas need more", queries)
	}
}

// TestDashboardPromQLParses hands every expression to promtool as a
// recording rule; promtool (Debian package prometheus) is required.
func TestDashboardPromQLParses(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install the Debian package prometheus (scripts/deps.sh, which make test runs, does)")
	}
	vars := strings.NewReplacer("$__rate_interval", "5m", "$merchant", ".*")
	type rec struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rec
	for _, p := range load(t).Panels {
		for _, tg := range p.Targets {
			rules = append(rules, rec{Record: fmt.Sprintf("dashboard:panel%d:%s", p.ID, strings.ToLower(tg.RefID)), Expr: vars.Replace(tg.Expr)})
		}
	}
	out, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dashboard-rules.yaml")
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(path, "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool rejects a dashboard query: %v\n%s", err, msg)
	}
}
