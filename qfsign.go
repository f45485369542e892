// Package qfsign is the module root. Importing it registers the qfsign
// Caddy modules, so that `xcaddy build --with github.com/qfsign/qfsign`
// works with the module path alone.
package qfsign

import (
	// Registers the qfpay app, qfpay_sign and the qfpay transport.
	_ "github.com/qfsign/qfsign/caddymodule"
	// Registers the qfsign sign, verify-notify, sandbox and doctor subcommands.
	_ "github.com/qfsign/qfsign/cli"
)
