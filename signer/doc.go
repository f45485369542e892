// Package signer implements the QFPay request protocol, free of Caddy and Vault.
//
// Invariants the rest of qfsign relies on:
//   - A form is parsed once, strictly: repeated keys, bad percent-escapes,
//     invalid UTF-8 and empty names are errors, never guesses.
//   - The bytes forwarded are the bytes signed: Params.Encode and the
//     canonical string are produced from the same validated Params, and
//     nothing re-encodes a value after signing.
//   - Verification is constant time and case-insensitive in the hex digits.
//   - A Secret never prints: every formatting and marshalling path shows
//     a fingerprint.
//   - Errors name the field and the rule, never a value.
package signer
