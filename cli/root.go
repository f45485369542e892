package cli

import "github.com/caddyserver/caddy/v2"

// The root command's help is qfsign's: Caddy's own advertises `caddy
// upgrade` and `add-package`, which would download a stock Caddy without
// qfsign's modules. Set here, not in cmd/qfsign, so the image's xcaddy
// build (whose main is xcaddy's) says qfsign too.
func init() {
	caddy.CustomBinaryName = "qfsign"
	caddy.CustomLongDescription = rootHelp
}

const rootHelp = `qfsign is a signing gateway for the QFPay API, built as Caddy modules.

Applications send unsigned QFPay requests to qfsign on localhost; qfsign
validates them, signs them with the merchant's key (from the environment,
a file or Vault), forwards them to QFPay and logs each transaction. It
verifies QFPay's signed notifications before the application sees them.

Commands most used:

	qfsign run --config Caddyfile      run the gateway in the foreground
	qfsign doctor --config Caddyfile   check keys, QFPay, the store and risks
	qfsign validate --config Caddyfile check that a config loads
	qfsign sign / verify-notify        sign a form, check a notification
	qfsign sandbox                     run the QFPay double for application CI

Every other command is Caddy's (adapt, fmt, list-modules, reload, ...).
Do not use upgrade, add-package or remove-package: they download a stock
Caddy without qfsign's modules. Build a new binary instead (make build,
go install github.com/qfsign/qfsign/cmd/qfsign@latest, or
scripts/xcaddy-build.sh for the image's build).

Exit statuses of qfsign's commands: 0 success, 1 a check failed (a
signature does not verify, a doctor check failed), 2 usage, 3 input that
cannot be used (the key, the form). Documentation: README.md and docs/.
`
