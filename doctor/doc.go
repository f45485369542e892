// Package doctor holds the checks behind `qfsign doctor`: each one a plain
// function with a verdict (ok, warn, fail, skip) and a one-line detail,
// tested without Caddy. The command (cli/doctor.go) feeds them a
// provisioned qfpay app (caddymodule.App.Doctor) and prints the report.
//
// Invariant: no check, detail or error carries a key, a token or a
// password; keys appear only as their fingerprint.
package doctor
