package caddymodule

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
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

// markEmbedded sets X-Qfsign-Environment: embedded on the answer,
// whichever path writes it.
type markEmbedded struct {
	*caddyhttp.ResponseWriterWrapper
}

func (m markEmbedded) WriteHeader(status int) {
	m.Header().Set(headerEnvironment, EnvEmbedded)
	m.ResponseWriterWrapper.WriteHeader(status)
}

func (m markEmbedded) Write(p []byte) (int, error) {
	m.Header().Set(headerEnvironment, EnvEmbedded)
	return m.ResponseWriterWrapper.Write(p)
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
		return nil, fmt.Errorf("environment %q: want production, test, sandbox, embedded or an http(s) base URL", env)
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
