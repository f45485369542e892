package cli

import (
	"github.com/qfsign/qfsign/internal/testvectors"

	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/qfsign/qfsign/signer"
)

// TestSignVectors: every request vector, both digests, the form as
// arguments (in unsorted order) and as a urlencoded body on stdin, the key
// from an environment variable and from a file.
func TestSignVectors(t *testing.T) {
	for _, v := range testvectors.Load(t).Request {
		names := slices.Sorted(maps.Keys(v.Params))
		var args []string
		for _, n := range slices.Backward(names) {
			args = append(args, n+"="+v.Params[n])
		}
		keyFile := writeFile(t, v.ClientKey+"\n")
		e := env{"QFSIGN_T_KEY": v.ClientKey}
		for _, st := range []struct{ flag, want string }{{"md5", v.MD5}, {"sha256", v.SHA256}} {
			cases := []struct {
				form  string
				stdin string
				args  []string
			}{
				{"args", "", append([]string{"--key-env", "QFSIGN_T_KEY", "--sign-type", st.flag}, args...)},
				{"stdin", v.WireBody + "\n", []string{"--key-file", keyFile, "--sign-type", st.flag}},
			}
			for _, c := range cases {
				t.Run(v.Name+"/"+st.flag+"/"+c.form, func(t *testing.T) {
					o := run(t, runSign, "sign", e, c.stdin, c.args...)
					if o.err != nil || o.code != 0 {
						t.Fatalf("code %d, err %v", o.code, o.err)
					}
					if o.out != st.want+"\n" {
						t.Errorf("stdout %q, want %q", o.out, st.want+"\n")
					}
					if o.errOut != "" {
						t.Errorf("stderr without --explain: %q", o.errOut)
					}
				})
			}
		}
	}
}

// TestSignExplain: --explain shows sorted names with masked values, the
// key's fingerprint and the headers; never a value or the key.
func TestSignExplain(t *testing.T) {
	for _, v := range testvectors.Load(t).Request {
		for _, st := range []struct{ flag, want string }{{"md5", v.MD5}, {"sha256", v.SHA256}} {
			t.Run(v.Name+"/"+st.flag, func(t *testing.T) {
				e := env{"QFPAY_CLIENT_KEY": v.ClientKey}
				args := []string{"--explain", "--app-code", "APPCODE-T", "--sign-type", st.flag}
				for n, val := range v.Params {
					args = append(args, n+"="+val)
				}
				o := run(t, runSign, "sign", e, "", args...)
				if o.err != nil || o.out != st.want+"\n" {
					t.Fatalf("stdout %q, err %v; want %s", o.out, o.err, st.want)
				}
				checkExplain(t, o.errOut, v.Params, v.ClientKey, st.want, st.flag == "sha256")
			})
		}
	}
}

func checkExplain(t *testing.T, ex string, params map[string]string, key, sig string, sha bool) {
	t.Helper()
	var masked []string
	for _, n := range slices.Sorted(maps.Keys(params)) {
		masked = append(masked, fmt.Sprintf("%s=***(%d)", n, len(params[n])))
	}
	fp := signer.NewSecret(key).Fingerprint()
	for _, want := range []string{
		"canonical: " + strings.Join(masked, "&") + "\n",
		"+ key " + fp,
		"X-QF-APPCODE: APPCODE-T",
		"X-QF-SIGN: " + sig,
	} {
		if !strings.Contains(ex, want) {
			t.Errorf("explanation lacks %q:\n%s", want, ex)
		}
	}
	if got := strings.Contains(ex, "X-QF-SIGNTYPE: SHA256"); got != sha {
		t.Errorf("X-QF-SIGNTYPE shown = %v, want %v:\n%s", got, sha, ex)
	}
	if strings.Contains(ex, key) {
		t.Errorf("explanation contains the key:\n%s", ex)
	}
	// Hex digits of the signature and fingerprint may spell a short
	// numeric value by chance: look for values in the rest.
	rest := strings.NewReplacer(sig, "", fp, "").Replace(ex)
	// An empty value is covered by the exact canonical line above.
	for n, val := range params {
		if val != "" && strings.Contains(rest, val) {
			t.Errorf("explanation shows the value of %s:\n%s", n, ex)
		}
	}
}

// TestSignArgsRaw: argument values are raw, so characters that mean
// something in a urlencoded body are signed as themselves.
func TestSignArgsRaw(t *testing.T) {
	form := map[string]string{
		"goods_name": "a&b=c+d %41;e",
		"return_url": "https://shop.example/done?x=1&y=%2F",
		"txamt":      "=",
		"udid":       "",
	}
	want := signer.Sign(signer.FromMap(form), signer.NewSecret("k3y"), signer.SHA256)
	args := []string{"--sign-type", "sha256"}
	for n, v := range form {
		args = append(args, n+"="+v)
	}
	o := run(t, runSign, "sign", env{"QFPAY_CLIENT_KEY": "k3y"}, "", args...)
	if o.err != nil || o.out != want+"\n" {
		t.Fatalf("stdout %q, err %v; want %s", o.out, o.err, want)
	}
}

// TestSignLiteralPercent: stdin "50% off" is signed as the gateway
// signs it by default: the literal value, as PHP and Python read it.
func TestSignLiteralPercent(t *testing.T) {
	e := env{"QFPAY_CLIENT_KEY": "k3y"}
	want := signer.Sign(signer.FromMap(map[string]string{"goods_name": "50% off", "txamt": "1"}), signer.NewSecret("k3y"), signer.MD5)
	if o := run(t, runSign, "sign", e, "goods_name=50%+off&txamt=1"); o.err != nil || o.out != want+"\n" {
		t.Fatalf("stdout %q, err %v; want %s", o.out, o.err, want)
	}
}

func TestSignCharset(t *testing.T) {
	e := env{"QFPAY_CLIENT_KEY": "k3y"}
	want := signer.Sign(signer.FromMap(map[string]string{"goods_name": "測試", "txamt": "1"}), signer.NewSecret("k3y"), signer.MD5)
	// 測試 in Big5 is B4 FA B8 D5.
	o := run(t, runSign, "sign", e, "goods_name=%B4%FA%B8%D5&txamt=1", "--charset", "big5")
	if o.err != nil || o.out != want+"\n" {
		t.Fatalf("big5 stdin: %q, %v; want %s", o.out, o.err, want)
	}
	o = run(t, runSign, "sign", e, "", "--charset", "big5", "goods_name=\xb4\xfa\xb8\xd5", "txamt=1")
	if o.err != nil || o.out != want+"\n" {
		t.Fatalf("big5 args: %q, %v; want %s", o.out, o.err, want)
	}
	if o := run(t, runSign, "sign", e, "", "--charset", "utf-16le", "txamt=1"); o.err == nil {
		t.Error("utf-16 accepted")
	}
}

// TestSignFormErrors: the gateway's strict parsing, and errors that never
// echo a value.
func TestSignFormErrors(t *testing.T) {
	const secretValue = "VALUE-THAT-MUST-NOT-SHOW"
	e := env{"QFPAY_CLIENT_KEY": "k3y"}
	tests := []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"repeated name", "", []string{"a=" + secretValue, "a=2"}, "more than once"},
		{"argument without =", "", []string{"a=1", secretValue}, "argument 2"},
		{"bad escape, --strict-escapes", "a=%ZZ" + secretValue, []string{"--strict-escapes"}, "percent-escape"},
		{"control character", "", []string{"a=" + secretValue + "\x01"}, "control"},
		{"bad name", "", []string{"a b=" + secretValue}, "field names"},
		{"empty stdin", "\n", nil, "no form"},
		{"bad sign type", "", []string{"--sign-type", "sha1", "a=1"}, "--sign-type"},
		{"unknown charset", "", []string{"--charset", "nope", "a=1"}, "--charset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := run(t, runSign, "sign", e, tt.stdin, tt.args...)
			if o.err == nil || o.code == 0 {
				t.Fatalf("accepted: code %d, out %q", o.code, o.out)
			}
			if !strings.Contains(o.err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", o.err, tt.want)
			}
			if strings.Contains(o.all(), secretValue) || o.out != "" {
				t.Errorf("output or error shows input: out %q, err %q", o.out, o.err)
			}
		})
	}
}

// TestSignThroughCobra runs the registered cobra command end to end in
// process: flags, positional arguments, stdin, stdout and the environment.
func TestSignThroughCobra(t *testing.T) {
	v := testvectors.Load(t).Request[0]
	t.Setenv("QFPAY_CLIENT_KEY", v.ClientKey)
	for _, c := range []struct {
		name  string
		args  []string
		stdin string
	}{
		{"args", []string{"sign", "txcurrcd=HKD", "txamt=100", "mchid=ZaMVg12345"}, ""},
		{"stdin", []string{"sign"}, v.WireBody},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := &cobra.Command{Use: "qfsign"}
			sub := &cobra.Command{Use: "sign"}
			caddycmd.Commands()["sign"].CobraFunc(sub)
			root.AddCommand(sub)
			var out bytes.Buffer
			root.SetArgs(c.args)
			root.SetIn(strings.NewReader(c.stdin))
			root.SetOut(&out)
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			if out.String() != v.MD5+"\n" {
				t.Errorf("stdout %q, want %s", out.String(), v.MD5)
			}
		})
	}
}
