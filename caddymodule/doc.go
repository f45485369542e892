// Package caddymodule is the Caddy glue of qfsign: the qfpay app, the
// qfpay_gateway, qfpay_notify and qfpay_health handlers, their Caddyfile
// syntax, the HTTP client to QFPay, metrics and the log line. The
// payment decisions are package exchange's.
//
// Invariants:
//   - Fail closed: a request that cannot be validated, keyed and signed is
//     answered here with a JSON error and nothing is sent to QFPay.
//   - The bytes sent are the bytes signed: the request to QFPay is built
//     from the encoding of the exact Params that were signed.
//   - The caller chooses nothing security-relevant: the merchant comes from
//     the route, the upstream from the app, and none of the caller's
//     headers reaches QFPay.
//   - The key is never logged, returned, or stored in the JSON config: the
//     config holds a placeholder, resolved at provision time.
package caddymodule
