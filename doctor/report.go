package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Status is a check's verdict. Only fail makes the report fail: warn is
// a risk the operator should know of, skip a check that could not run
// because an earlier one failed (that one carries the failure) or that
// does not apply.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Check is one line of the report.
type Check struct {
	// Scope is "config", "store", "qfpay" or "merchant <name>".
	Scope  string `json:"scope"`
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
}

// Report is the whole run, in the order the checks ran.
type Report struct {
	Config string  `json:"config"`
	Checks []Check `json:"checks"`
}

// Add appends a check.
func (r *Report) Add(scope, name string, s Status, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Scope: scope, Name: name, Status: s, Detail: fmt.Sprintf(format, args...)})
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	for _, c := range r.Checks {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// counts returns how many checks have each status.
func (r *Report) counts() map[Status]int {
	n := map[Status]int{}
	for _, c := range r.Checks {
		n[c.Status]++
	}
	return n
}

// WriteJSON writes the report and its verdict as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	n := r.counts()
	out := struct {
		*Report
		OK     bool           `json:"ok"`
		Counts map[Status]int `json:"counts"`
	}{r, !r.Failed(), n}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteText writes the report for a person: one line per check, grouped
// by scope, then the verdict.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "qfsign doctor: %s\n", r.Config)
	scope := ""
	for _, c := range r.Checks {
		if c.Scope != scope {
			scope = c.Scope
			fmt.Fprintf(&b, "\n%s\n", scope)
		}
		fmt.Fprintf(&b, "  %-4s  %-18s %s\n", strings.ToUpper(string(c.Status)), c.Name, c.Detail)
	}
	n := r.counts()
	verdict := "OK"
	if r.Failed() {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "\n%s: %d ok, %d warnings, %d failed, %d skipped\n", verdict, n[OK], n[Warn], n[Fail], n[Skip])
	_, err := io.WriteString(w, b.String())
	return err
}
