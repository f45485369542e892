package keys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	vault "github.com/hashicorp/vault/api"
)

// Fields names the KV fields holding each credential.
type Fields struct {
	AppCode   string // default "app_code"
	ClientKey string // default "client_key"
	MchID     string // default "mchid"; optional in the secret
}

func (f Fields) withDefaults() Fields {
	if f.AppCode == "" {
		f.AppCode = "app_code"
	}
	if f.ClientKey == "" {
		f.ClientKey = "client_key"
	}
	if f.MchID == "" {
		f.MchID = "mchid"
	}
	return f
}

// KV is a Source reading one merchant's secret from a KV engine.
type KV struct {
	Vault *Vault
	Mount string
	Path  string
	// Version of the KV engine: 2 (default) or 1.
	Version int
	Fields  Fields
}

// ErrNotFound wraps a missing secret or a deleted latest version.
var ErrNotFound = errors.New("secret not found")

// Name is the secret's address in messages: mount/path, never a value.
func (k *KV) Name() string { return k.Mount + "/" + k.Path }

// Fetch reads the secret and validates it. Errors name the path and the
// field; values never appear in them.
func (k *KV) Fetch(ctx context.Context) (Credentials, error) {
	var data map[string]any
	var version string
	err := k.Vault.Do(ctx, func(ctx context.Context, c *vault.Client) error {
		var err error
		data, version, err = k.read(ctx, c)
		return err
	})
	if err != nil {
		return Credentials{}, fmt.Errorf("vault secret %s: %w", k.Name(), err)
	}
	f := k.Fields.withDefaults()
	vals := make([]string, 3)
	for i, name := range []string{f.AppCode, f.ClientKey, f.MchID} {
		v, present, err := stringField(data, name)
		if err != nil {
			return Credentials{}, fmt.Errorf("vault secret %s: %w: %w", k.Name(), ErrInvalid, err)
		}
		if !present && i < 2 {
			return Credentials{}, fmt.Errorf("vault secret %s: %w: field %s is missing", k.Name(), ErrInvalid, name)
		}
		vals[i] = v
	}
	creds, err := NewCredentials(vals[0], vals[1], vals[2], version)
	if err != nil {
		return Credentials{}, fmt.Errorf("vault secret %s: %w", k.Name(), err)
	}
	return creds, nil
}

func (k *KV) read(ctx context.Context, c *vault.Client) (map[string]any, string, error) {
	if k.Version == 1 {
		s, err := c.KVv1(k.Mount).Get(ctx, k.Path)
		if err != nil {
			return nil, "", notFound(err)
		}
		return s.Data, "kv1", nil
	}
	s, err := c.KVv2(k.Mount).Get(ctx, k.Path)
	if err != nil {
		return nil, "", notFound(err)
	}
	v := 0
	if s.VersionMetadata != nil {
		v = s.VersionMetadata.Version
	}
	if s.Data == nil {
		return nil, "", fmt.Errorf("%w: latest version %d is deleted", ErrNotFound, v)
	}
	return s.Data, "v" + strconv.Itoa(v), nil
}

func notFound(err error) error {
	if errors.Is(err, vault.ErrSecretNotFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// stringField reads a KV value that must be a string; numbers decoded as
// json.Number are accepted, since an app code may look numeric.
func stringField(data map[string]any, name string) (string, bool, error) {
	v, ok := data[name]
	if !ok || v == nil {
		return "", false, nil
	}
	switch t := v.(type) {
	case string:
		return t, true, nil
	case json.Number:
		return t.String(), true, nil
	default:
		return "", true, fmt.Errorf("field %s is a %T, not a string", name, v)
	}
}
