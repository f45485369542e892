package vaulttest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// durationValue parses Vault's duration fields: a number of seconds, a
// string of digits (seconds), a Go duration, or a "<n>d" day count.
func durationValue(v any) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case json.Number:
		f, err := x.Float64()
		return time.Duration(f * float64(time.Second)), err
	case float64:
		return time.Duration(x * float64(time.Second)), nil
	case string:
		if x == "" {
			return 0, nil
		}
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			return time.Duration(n) * time.Second, nil
		}
		if d, ok := strings.CutSuffix(x, "d"); ok {
			n, err := strconv.Atoi(d)
			return time.Duration(n) * 24 * time.Hour, err
		}
		return time.ParseDuration(x)
	}
	return 0, fmt.Errorf("cannot parse %v as a duration", v)
}

func intValue(v any) (int, error) {
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		return int(n), err
	case float64:
		return int(x), nil
	case string:
		return strconv.Atoi(x)
	}
	return 0, fmt.Errorf("cannot parse %v as an integer", v)
}

// stringList accepts a JSON array of strings or a comma-separated string.
func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if x == "" {
			return nil, nil
		}
		return strings.Split(x, ","), nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("cannot parse %v as a string", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot parse %v as a list of strings", v)
}

func stringMap(v any) (map[string]string, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("cannot parse %v as a map of strings", v)
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("value of %q must be a string", k)
		}
		out[k] = s
	}
	return out, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func seconds(d time.Duration) int { return int(d / time.Second) }

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// newTokenID mimics Vault 1.10+ service tokens ("hvs." prefix).
func newTokenID() string { return "hvs." + randString(24) }

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
