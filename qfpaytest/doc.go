// Package qfpaytest is an in-process test double of the QFPay payment API:
// POST /trade/v1/payment, /trade/v1/query, /trade/v1/refund,
// /trade/v1/reversal and /trade/v1/add_note, and GET /trade/v1/close.
//
// It checks request signatures on its own code path, using only the
// standard library, so that a bug in the gateway's signer cannot be hidden
// by the same bug in the verifier. A POST is signed over its form body, a
// GET over its query string. Like QFPay it answers JSON with HTTP 200 even
// for business errors; the outcome is in respcd.
//
// Every request is recorded before any check, so tests can assert on what
// reached "QFPay", including requests it refused. Payments and refunds
// live in memory (New, Start) or also in a ledger file (StartPersistent,
// which keeps them, the syssn counter, checkout pages and the address
// across restarts) and survive Reset, so duplicate out_trade_no
// detection keeps working; query finds both, with QFPay's order_type,
// origssn and cancel flags.
//
// Script reproduces QFPay's hard cases deterministically: pending answers
// (1143, 1145, 1298) that turn final after a number of queries, refusals
// (1108, 429, ...), late answers, hangs and connection resets. A payment
// whose answer is late or lost is recorded all the same, as when QFPay got
// the request and the answer went missing.
//
// When a notify URL is set (SetNotifyURL, or a payment's notify_url field),
// each successful payment and refund is followed by a QFPay-style
// asynchronous notification, retried on QFPay's schedule (scaled by
// SetRetryScale) until answered "SUCCESS"; attempts are recorded as
// Deliveries. Close stops them.
//
// SetCheckoutURL turns on a checkout page for the online Alipay types
// (801101, 801501, 801514 web; 801107, 801512 WAP): their pay_url opens a
// page on the double itself, where a browser pays (query 0000 with paydtm,
// the notification, then return_url), cancels (1142, cancel 2) or leaves
// the order pending (1145); unpaid orders answer 1143 until expired_time
// (default 30 minutes, on the clock SetClock sets) closes them (1142). The
// page's requests come from the customer, not the merchant: they are not
// recorded.
package qfpaytest
