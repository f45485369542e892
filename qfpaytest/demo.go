package qfpaytest

// Demo credentials shared by the gateway's embedded environment and
// `qfsign sandbox`. They are not secrets: the double is the only thing
// that accepts them, and nothing real can be paid with them.
const (
	DemoAppCode   = "DEMO0000APPCODE0000000000000000"
	DemoClientKey = "DEMO-embedded-client-key-not-a-secret"
)
