// Package prometheus_test checks the alert rules: the plain rule file and
// the PrometheusRule hold the same groups, promtool accepts them, and
// promtool's unit tests (rules_test.yaml) pass with every alert tested
// firing and quiet. promtool (Debian package prometheus) is required: CI
// installs it, and a missing promtool fails rather than skips.
package prometheus_test

import (
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

type rule struct {
	Alert string `json:"alert"`
}

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []rule `json:"rules"`
	} `json:"groups"`
}

func readYAML(t *testing.T, path string, out any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestPrometheusRuleMatchesRuleFile: one source of truth in two formats.
func TestPrometheusRuleMatchesRuleFile(t *testing.T) {
	var plain map[string]any
	readYAML(t, "rules.yaml", &plain)
	var pr struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       map[string]any `json:"spec"`
	}
	readYAML(t, "prometheusrule.yaml", &pr)
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" || pr.Metadata["name"] == nil {
		t.Errorf("prometheusrule.yaml: apiVersion %q kind %q metadata %v", pr.APIVersion, pr.Kind, pr.Metadata)
	}
	if len(plain) != 1 || plain["groups"] == nil {
		t.Fatalf("rules.yaml: want only groups, got keys %v", reflect.ValueOf(plain).MapKeys())
	}
	if !reflect.DeepEqual(plain["groups"], pr.Spec["groups"]) || len(pr.Spec) != 1 {
		t.Error("prometheusrule.yaml's spec.groups differ from rules.yaml's groups: edit both together")
	}
}

func promtool(t *testing.T, args ...string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install the Debian package prometheus (scripts/deps.sh, which make test runs, does)")
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestPromtoolCheckRules(t *testing.T) { promtool(t, "check", "rules", "rules.yaml") }

func TestPromtoolUnitTests(t *testing.T) { promtool(t, "test", "rules", "rules_test.yaml") }

// TestEveryAlertTestedBothWays: each alert has a case where it fires and
// one where it stays quiet, and nothing tests an alert that does not exist.
func TestEveryAlertTestedBothWays(t *testing.T) {
	var rules ruleFile
	readYAML(t, "rules.yaml", &rules)
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	readYAML(t, "rules_test.yaml", &tests)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	alerts := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			if !fires[r.Alert] || !quiet[r.Alert] {
				t.Errorf("alert %s: tested firing %v, quiet %v; want both", r.Alert, fires[r.Alert], quiet[r.Alert])
			}
		}
	}
	for name := range fires {
		if !alerts[name] {
			t.Errorf("rules_test.yaml tests %s, which rules.yaml does not define", name)
		}
	}
	if len(alerts) < 9 {
		t.Errorf("%d alerts, want the 9 of issue 17", len(alerts))
	}
}
