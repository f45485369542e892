// Package caddymodule is the Caddy glue of qfsign: the qfpay app, the
// qfpay_sign handler, the qfpay transport and their Caddyfile syntax.
//
// Invariants:
//   - Fail closed: a request that cannot be validated, keyed and signed is
//     answered here with a JSON error and never reaches the next handler.
//   - The bytes forwarded are the bytes signed: the body is replaced by the
//     encoding of the exact Params that were signed.
//   - The caller chooses nothing security-relevant: the merchant comes from
//     the route, the upstream from the app, and client X-QF-* headers are
//     removed before signing.
//   - The key is never logged, returned, or stored in the JSON config: the
//     config holds a placeholder, resolved at provision time.
package caddymodule
