// Package cli adds qfsign's own subcommands to the Caddy command line:
//
//	qfsign sign           sign a form the way the gateway does (debugging, scripts)
//	qfsign verify-notify  check a QFPay notification's X-QF-SIGN over its raw body
//	qfsign sandbox        run the QFPay double (qfpaytest) standalone for CI
//	qfsign doctor         check a config: keys, QFPay, store, risks
//
// Importing the package registers them (caddycmd.RegisterCommand in init).
// The key is never a flag value: it comes from a file or an environment
// variable, and no output or error of these commands contains it; only its
// fingerprint (signer.Secret.Fingerprint) is shown.
package cli
