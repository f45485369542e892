package cli

import (
	"errors"
	"strings"
	"testing"
)

const sentinelKey = "S3CRET-KEY-must-never-print"

// TestKeyRefusals: the key is never a flag value; errors about keys name
// the file or variable, never the key.
func TestKeyRefusals(t *testing.T) {
	fromEnv := env{"QFPAY_CLIENT_KEY": sentinelKey, "OTHER": sentinelKey}
	missing := t.TempDir() + "/no-such-key"
	tests := []struct {
		name string
		e    env
		args []string
		want string
	}{
		{"--key", fromEnv, []string{"--key", sentinelKey}, "--key-file"},
		{"--key=", fromEnv, []string{"--key=" + sentinelKey}, "never accepted as a flag value"},
		{"--client-key", fromEnv, []string{"--client-key", sentinelKey}, "never accepted as a flag value"},
		{"missing key file", fromEnv, []string{"--key-file", missing}, missing},
		{"file and env", fromEnv, []string{"--key-file", writeFile(t, sentinelKey), "--key-env", "OTHER"}, "not both"},
		{"default env unset", env{}, nil, "QFPAY_CLIENT_KEY"},
		{"named env unset", fromEnv, []string{"--key-env", "QFSIGN_T_UNSET"}, "QFSIGN_T_UNSET"},
		{"surrounding space in file", env{}, []string{"--key-file", writeFile(t, " "+sentinelKey+"\n")}, "whitespace"},
		{"two newlines in file", env{}, []string{"--key-file", writeFile(t, sentinelKey+"\n\n")}, "whitespace"},
		{"control character in env", env{"K": sentinelKey + "\x00x"}, []string{"--key-env", "K"}, "control"},
		{"empty file", env{}, []string{"--key-file", writeFile(t, "\n")}, "empty"},
	}
	for _, tt := range tests {
		for cmd, f := range map[string]runFunc{"sign": runSign, "verify-notify": runVerifyNotify} {
			t.Run(cmd+"/"+tt.name, func(t *testing.T) {
				args := append([]string{"--sign", "00"}, tt.args...)
				if cmd == "sign" {
					args = append(tt.args, "txamt=1")
				}
				o := run(t, f, cmd, tt.e, "{}", args...)
				if o.err == nil || o.code == 0 {
					t.Fatalf("accepted: code %d, out %q", o.code, o.out)
				}
				if !strings.Contains(o.err.Error(), tt.want) {
					t.Errorf("error %q lacks %q", o.err, tt.want)
				}
				if strings.Contains(o.all(), sentinelKey) {
					t.Errorf("the key shows: %q", o.all())
				}
			})
		}
	}
}

func TestKeyFileNewlineTrimmed(t *testing.T) {
	for _, content := range []string{"abcd1234", "abcd1234\n", "abcd1234\r\n"} {
		o := run(t, runSign, "sign", env{}, "", "--key-file", writeFile(t, content), "mchid=ZaMVg12345", "txamt=100", "txcurrcd=HKD")
		if o.err != nil || o.out != "3CB3AA9C21D818AB4CAFAA8FA3FEACF4\n" {
			t.Errorf("key file %q: %q, %v", content, o.out, o.err)
		}
	}
}

func TestPlainKeyIsErrPlainKey(t *testing.T) {
	o := run(t, runSign, "sign", env{}, "", "--key", "x", "a=1")
	if !errors.Is(o.err, errPlainKey) {
		t.Fatalf("err = %v, want errPlainKey", o.err)
	}
}
