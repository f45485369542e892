package caddymodule

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// Named QFPay environments (API.md section 1).
var environments = map[string]string{
	"production": "https://openapi-hk.qfapi.com",
	"test":       "https://test-openapi-hk.qfapi.com",
	"sandbox":    "https://openapi-int.qfapi.com",
}

// EnvEmbedded runs the qfpaytest double in-process: no network, demo keys.
const EnvEmbedded = "embedded"

// headerEnvironment marks every answer of a gateway whose environment is
// embedded, so a test double's 0000 can never pass for QFPay's.
const headerEnvironment = "X-Qfsign-Environment"

// resolveEnvironment resolves placeholders in the configured environment;
// empty, or a placeholder that does not resolve, is an error: there is no
// default to fall back on.
func resolveEnvironment(raw string) (string, error) {
	const want = "production, test, sandbox, embedded or an http(s) base URL"
	if strings.TrimSpace(raw) == "" {
		return "", fmt.Errorf("environment is required: %s", want)
	}
	env, err := caddy.NewReplacer().ReplaceOrErr(raw, true, true)
	if err != nil || strings.TrimSpace(env) == "" {
		return "", fmt.Errorf("environment %q resolves to nothing: want %s", raw, want)
	}
	return env, nil
}

// parseEnvironment turns an environment name or base URL into the pinned
// upstream. Only scheme and host:port are kept; a path, query or userinfo
// is refused rather than silently dropped.
func parseEnvironment(env string) (*url.URL, error) {
	if base, ok := environments[strings.ToLower(env)]; ok {
		env = base
	}
	u, err := url.Parse(env)
	if err != nil {
		return nil, fmt.Errorf("environment: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("environment %q is not production, test, sandbox, embedded or an http(s) base URL%s", env, didYouMean(env))
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("environment %q: a base URL has no path, query or credentials", env)
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host += ":" + port
	}
	return &url.URL{Scheme: u.Scheme, Host: host}, nil
}

// didYouMean suggests the named environment a typo was meant to be: one
// it begins, or one at most two edits away ("prod", "tset").
func didYouMean(env string) string {
	env = strings.ToLower(env)
	names := []string{"production", "test", "sandbox", EnvEmbedded}
	for _, n := range names {
		if len(env) >= 3 && strings.HasPrefix(n, env) || editDistance(env, n) <= 2 {
			return ": did you mean " + n + "?"
		}
	}
	return ""
}

// editDistance is the Levenshtein distance of two short ASCII strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
