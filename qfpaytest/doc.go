// Package qfpaytest is an in-process test double of the QFPay payment API
// (POST /trade/v1/payment and POST /trade/v1/query).
//
// It checks request signatures on its own code path, using only the
// standard library, so that a bug in the gateway's signer cannot be hidden
// by the same bug in the verifier. Like QFPay it answers JSON with HTTP 200
// even for business errors; the outcome is in respcd.
//
// Every request is recorded before any check, so tests can assert on what
// reached "QFPay", including requests it refused. Payments live in memory
// only and survive Reset, so duplicate out_trade_no detection keeps working.
//
// When a notify URL is set (SetNotifyURL, or a payment's notify_url field),
// each successful payment is followed by a QFPay-style asynchronous
// notification, retried on QFPay's schedule (scaled by SetRetryScale) until
// answered "SUCCESS"; attempts are recorded as Deliveries. Close stops them.
package qfpaytest
