// Package keys supplies a merchant's QFPay credentials to the gateway.
//
// Invariants: a Source never returns a half-valid Credentials (both
// app_code and client_key are set, or there is an error); errors name the
// source and the field, never the key.
package keys

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/qfsign/qfsign/signer"
)

// Credentials are what QFPay issued to one merchant.
type Credentials struct {
	AppCode string
	Key     signer.Secret
	// MchID is set when QFPay issued one; "" otherwise.
	MchID string
	// Version is the secret's version at its source ("static" for config).
	Version string

	kid string // computed once: KID is read on every request
}

// KID identifies a key in logs and metrics without revealing it.
func (c Credentials) KID() string {
	if c.kid != "" {
		return c.kid
	}
	return c.Key.Fingerprint() + "/" + c.Version
}

// Source fetches credentials. Implementations must be safe for concurrent use.
type Source interface {
	Fetch(ctx context.Context) (Credentials, error)
}

// Static is a Source whose credentials come from configuration
// (environment variables or files resolved at provision time).
type Static struct {
	Creds Credentials
}

// Fetch returns the configured credentials.
func (s Static) Fetch(context.Context) (Credentials, error) { return s.Creds, nil }

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = errors.New("invalid credentials")

// NewCredentials validates raw values and builds Credentials. A single
// trailing newline (as files usually end) is removed from the key; any
// other surrounding whitespace or control character is an error, since
// QFPay would sign with it and every signature would silently fail.
func NewCredentials(appCode, clientKey, mchID, version string) (Credentials, error) {
	clientKey = strings.TrimSuffix(strings.TrimSuffix(clientKey, "\n"), "\r")
	if err := checkValue("app_code", appCode); err != nil {
		return Credentials{}, err
	}
	if err := checkValue("client_key", clientKey); err != nil {
		return Credentials{}, err
	}
	if mchID != "" {
		if err := checkValue("mchid", mchID); err != nil {
			return Credentials{}, err
		}
	}
	c := Credentials{AppCode: appCode, Key: signer.NewSecret(clientKey), MchID: mchID, Version: version}
	c.kid = c.KID()
	return c, nil
}

func checkValue(field, v string) error {
	if v == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalid, field)
	}
	if strings.TrimSpace(v) != v {
		return fmt.Errorf("%w: %s has surrounding whitespace", ErrInvalid, field)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: %s contains control characters", ErrInvalid, field)
	}
	return nil
}
