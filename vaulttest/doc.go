// Package vaulttest is a test double of HashiCorp Vault's HTTP API: an
// in-memory http.Handler that answers the official Go client
// (github.com/hashicorp/vault/api and its approle and kubernetes auth
// helpers) the way a real Vault does, so end-to-end tests can run gateway
// code that fetches keys from Vault without a Vault binary. It is not a
// secure store and must never be used outside tests.
//
// Served paths (all under /v1/):
//
//	sys/health, sys/seal-status                   no token needed
//	sys/wrapping/unwrap                            the wrapping token authenticates
//	auth/<approle mount>/login                     role_id + secret_id
//	auth/<kubernetes mount>/login                  role + jwt (listed JWTs, or with
//	                                               ConfigureKubernetes a real
//	                                               API server's TokenReview)
//	auth/token/lookup-self, lookup, renew-self, renew,
//	auth/token/create, create-orphan, revoke, revoke-self, revoke-accessor
//	<kv2 mount>/data/<path>                        GET (?version=N), PUT/POST, PATCH, DELETE
//	<kv2 mount>/metadata/<path>                    GET, LIST, PUT/POST, PATCH, DELETE
//	<kv2 mount>/delete|undelete|destroy/<path>     PUT/POST {"versions":[...]}
//	<kv2 mount>/config                             GET
//	<kv1 mount>/<path>                             GET, LIST, PUT/POST, DELETE
//
// Everything else answers like an unmounted path. There are no ACLs:
// any valid token may do anything; policies are only reported back.
// Test-side helpers (Put, CreateToken, Expire, SetDown, Calls ...) drive
// the same state without HTTP so tests need no sleeps.
package vaulttest
