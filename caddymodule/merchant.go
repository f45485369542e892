package caddymodule

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
	// Merchant timezones load in images without /usr/share/zoneinfo
	// (distroless, scratch, a minimal Alpine): about 450 KB of tzdata.
	_ "time/tzdata"

	"github.com/caddyserver/caddy/v2"

	"github.com/qfsign/qfsign/keys"
	"github.com/qfsign/qfsign/qfpaytest"
	"github.com/qfsign/qfsign/signer"
)

// Demo credentials for the embedded environment only: nothing real can be
// paid with them, so they may be defaults. `qfsign sandbox` uses the same.
const (
	demoAppCode   = qfpaytest.DemoAppCode
	demoClientKey = qfpaytest.DemoClientKey
)

// Merchant is one QFPay merchant account as configured.
type Merchant struct {
	// AppCode issued by QFPay; placeholders allowed. Required outside
	// the embedded environment.
	AppCode string `json:"app_code,omitempty"`
	// ClientKey must be a placeholder such as {env.QFPAY_CLIENT_KEY} or
	// {file./run/secrets/qfpay_key}, resolved at provision time, so that
	// the key never appears in the JSON config or the admin API. A literal
	// is accepted only with the embedded environment.
	ClientKey string `json:"client_key,omitempty"`
	// MchID, when QFPay issued one; set on every request. Default: none,
	// and a caller-sent mchid is refused.
	MchID string `json:"mchid,omitempty"`
	// SignType is md5 (default, QFPay's default) or sha256.
	SignType string `json:"sign_type,omitempty"`
	// PayTypes is the merchant's allow-list. Default: every pay type of
	// QFPay's current table.
	PayTypes []string `json:"pay_types,omitempty"`
	// Timezone fills and converts txdtm. Default: Asia/Hong_Kong.
	Timezone string `json:"timezone,omitempty"`
	// Vault, when set, is where app_code, client_key and mchid come from;
	// app_code and client_key must then be empty. Default: none.
	Vault *MerchantVault `json:"vault,omitempty"`
	// RateLimit caps calls to QFPay for this merchant; excess gets 429
	// locally. Default: none (QFPay's own limits are 100/s and 400/min).
	RateLimit *RateLimit `json:"rate_limit,omitempty"`

	name     string
	signType signer.SignType
	policy   signer.Policy
	creds    atomic.Pointer[keys.Credentials]
	// cache replaces creds for Vault-backed merchants.
	cache    *keys.Cache
	cacheKey string
	// doubleKey is set only for the embedded environment.
	doubleKey string
}

// provision resolves placeholders and validates; it never logs a value.
func (m *Merchant) provision(name string, embedded bool) error {
	m.name = name
	if m.Vault != nil {
		if m.AppCode != "" || m.ClientKey != "" || m.MchID != "" {
			return fmt.Errorf("merchant %s: app_code, client_key and mchid come from vault; remove them", name)
		}
		if embedded {
			return fmt.Errorf("merchant %s: the embedded environment verifies with demo keys; with vault, set environment to sandbox, test, production or a URL", name)
		}
		return m.provisionPolicy()
	}
	if !embedded && !isPlaceholder(m.ClientKey) {
		return fmt.Errorf("merchant %s: client_key must be a placeholder such as {env.QFPAY_CLIENT_KEY} or {file./path}: a literal key would be visible in the admin API", name)
	}
	repl := caddy.NewReplacer()
	appCode, appErr := resolveCredential(repl, m.AppCode)
	key, keyErr := resolveCredential(repl, m.ClientKey)
	switch {
	case embedded && appErr != nil && keyErr != nil:
		// Neither given: the embedded double's demo credentials.
		appCode, key = demoAppCode, demoClientKey
	case appErr != nil || keyErr != nil:
		return fmt.Errorf("merchant %s: %s%s", name, missingCredentials(m, appErr, keyErr), demoHint(embedded))
	}
	mchID := repl.ReplaceAll(m.MchID, "")
	creds, err := keys.NewCredentials(appCode, key, mchID, "static")
	if err != nil {
		return fmt.Errorf("merchant %s: %w", name, err)
	}
	m.creds.Store(&creds)
	if embedded {
		// Only the in-process double gets the raw key, to verify with.
		m.doubleKey = strings.TrimRight(key, "\r\n")
	}
	return m.provisionPolicy()
}

func (m *Merchant) provisionPolicy() error {
	if err := m.RateLimit.validate(); err != nil {
		return fmt.Errorf("merchant %s: %w", m.name, err)
	}
	var err error
	if m.signType, err = signer.ParseSignType(m.SignType); err != nil {
		return fmt.Errorf("merchant %s: %w", m.name, err)
	}
	types, err := signer.NewPayTypeSet(m.PayTypes)
	if err != nil {
		return fmt.Errorf("merchant %s: pay_types: %w", m.name, err)
	}
	loc := signer.DefaultLocation()
	if m.Timezone != "" {
		if loc, err = time.LoadLocation(m.Timezone); err != nil {
			return fmt.Errorf("merchant %s: timezone: %w", m.name, err)
		}
	}
	// MchID is taken from the credentials per request: it may rotate with them.
	m.policy = signer.Policy{PayTypes: types, Location: loc}
	return nil
}

// credentials returns the current credentials; an error means fail closed.
func (m *Merchant) credentials() (*keys.Credentials, error) {
	if m.cache != nil {
		return m.cache.Current()
	}
	if c := m.creds.Load(); c != nil {
		return c, nil
	}
	return nil, keys.ErrNoKey
}

// status reports the merchant's key for readiness probes.
func (m *Merchant) status() keys.Status {
	if m.cache != nil {
		return m.cache.Status()
	}
	c, err := m.credentials()
	if err != nil {
		return keys.Status{LastError: err.Error()}
	}
	return keys.Status{Ready: true, Loaded: true, Alive: true, KID: c.KID()}
}

// resolveCredential resolves a credential's placeholders; empty or
// unresolved is an error that never quotes the value.
func resolveCredential(repl *caddy.Replacer, raw string) (string, error) {
	v, err := repl.ReplaceOrErr(raw, true, true)
	if err != nil || v == "" {
		return "", errUnresolved
	}
	return v, nil
}

var errUnresolved = errors.New("unresolved or empty")

// missingCredentials names each missing credential with what to set: the
// environment variable or the file behind its placeholder.
func missingCredentials(m *Merchant, appErr, keyErr error) string {
	var missing []string
	if appErr != nil {
		missing = append(missing, "app_code: "+unresolvedFix(m.AppCode))
	}
	if keyErr != nil {
		missing = append(missing, "client_key: "+unresolvedFix(m.ClientKey))
	}
	return strings.Join(missing, "; ")
}

// envOrFile is a credential's placeholder: {env.NAME} or {file.PATH}.
var envOrFile = regexp.MustCompile(`^\{(env|file)\.([^{}]+)\}$`)

// unresolvedFix says what to do about a credential that resolved to
// nothing. Only a whole {env.*} or {file.*} placeholder is quoted: a
// literal (allowed with embedded) may be a key.
func unresolvedFix(raw string) string {
	m := envOrFile.FindStringSubmatch(raw)
	switch {
	case raw == "":
		return "unresolved or empty: not configured"
	case m == nil:
		return "unresolved or empty: a placeholder in it resolves to nothing" // raw may hold a literal key
	case m[1] == "env":
		return "unresolved or empty: set the environment variable " + m[2]
	default:
		return "unresolved or empty: the file " + m[2] + " is missing, unreadable or empty"
	}
}

// demoHint: with one credential given, demo values never fill in the other.
func demoHint(embedded bool) string {
	if embedded {
		return " (the embedded environment's demo credentials are used only when neither app_code nor client_key is set)"
	}
	return ""
}

func isPlaceholder(s string) bool {
	return strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && strings.Count(s, "{") == 1
}
