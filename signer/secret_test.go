package signer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const distinctiveKey = "KEY-7f3a9c-DO-NOT-LEAK"

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret(distinctiveKey)
	type holder struct {
		Key Secret
		Ptr *Secret
	}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		out = append(out, fmt.Sprintf(verb, s), fmt.Sprintf(verb, holder{s, &s}))
	}
	j, err := json.Marshal(holder{s, &s})
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(j))
	var buf bytes.Buffer
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&buf), zap.DebugLevel))
	logger.Info("x", zap.Any("any", s), zap.Reflect("reflect", holder{s, &s}), zap.Stringer("str", s))
	_ = logger.Sync()
	out = append(out, buf.String())
	for _, o := range out {
		if strings.Contains(o, distinctiveKey) || strings.Contains(o, fmt.Sprintf("%x", distinctiveKey)) {
			t.Fatalf("key leaked: %s", o)
		}
		if !strings.Contains(o, s.Fingerprint()) {
			t.Errorf("no fingerprint in %s", o)
		}
	}
}

func TestSecretBasics(t *testing.T) {
	a, b := NewSecret("k1"), NewSecret("k2")
	if a.Fingerprint() == b.Fingerprint() || !strings.HasPrefix(a.Fingerprint(), "sha256:") {
		t.Errorf("fingerprints %s %s", a.Fingerprint(), b.Fingerprint())
	}
	if !a.Equal(NewSecret("k1")) || a.Equal(b) {
		t.Error("Equal wrong")
	}
	if !(Secret{}).IsZero() || a.IsZero() || (Secret{}).Fingerprint() != "none" {
		t.Error("IsZero wrong")
	}
}
