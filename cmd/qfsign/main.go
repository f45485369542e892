// Command qfsign is Caddy with its standard modules and the qfsign
// modules: `qfsign run --config Caddyfile.example`.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/qfsign/qfsign"
	_ "github.com/qfsign/qfsign/cli" // qfsign sign, verify-notify, sandbox, doctor
)

func main() {
	// Help and usage say "qfsign": the cli package sets the name.
	caddycmd.Main()
}
