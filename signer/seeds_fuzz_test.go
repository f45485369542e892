package signer

// Shared seeds and oracles of the fuzz targets. The oracles restate the
// documented contracts independently of the code under test, so that a
// fuzz failure means the code and its documentation disagree.

import (
	"github.com/qfsign/qfsign/internal/testvectors"

	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz inputs are capped. Past 1 KiB, which is over every length limit
// (note 800 bytes, return_url 512), a form reaches no new code, while
// every exec and every minimisation step (quadratic in the length) gets
// slower; charset decoding needs far less.
const (
	maxFormInput    = 1024
	maxCharsetInput = 256
)

// seedForm is a realistic payment form as a legacy page posts it.
const seedForm = "txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=SEED-801101" +
	"&goods_name=%E6%B8%AC%E8%A9%A6+test&return_url=https%3A%2F%2Fshop.example%2Fdone"

// Legacy-charset encodings of 測試 / 测试 / テスト / 테스트, raw and escaped.
var (
	big5Test     = "\xb4\xfa\xb8\xd5"
	gbkTest      = "\xb2\xe2\xca\xd4"
	shiftJISTest = "\x83e\x83X\x83g"
	eucKRTest    = "\xc5\xd7\xbd\xba\xc6\xae"
)

// formSeeds are request bodies: realistic, per endpoint, legacy
// charsets, and the malformed shapes the strict parser must refuse.
var formSeeds = []string{
	seedForm,
	"txamt=1500&txcurrcd=hkd&pay_type=800108&out_trade_no=CPM-1&auth_code=281234567890123456&txdtm=2025-11-17+18%3A00%3A00",
	"txamt=2200&txcurrcd=HKD&pay_type=801107&out_trade_no=WAP-1&txdtm=2025-11-17T10%3A00%3A00Z&expired_time=030&return_url=http%3A%2F%2Fa.example%2F",
	"txamt=100&txcurrcd=CNY&pay_type=801510&out_trade_no=APP-1&goods_name=%E6%B5%8B%E8%AF%95&mchid=ZaMVg12345&udid=device-1",
	"syssn=20251117000300020087033882,20251117000300020087033883&pay_type=801101,801107&start_time=2025-11-01+00%3A00%3A00&end_time=2025-11-30T23%3A59%3A59%2B08%3A00&page=1&page_size=100&respcd=0000",
	"out_trade_no=A,B,C&page=0002&page_size=10",
	"syssn=20251117000300020087033882&out_trade_no=REFUND-1&txamt=500",
	"syssn=20251117000300020087033882&txamt=1500&txdtm=2025-11-17+18%3A00%3A00",
	"out_trade_no=ORDER-0001&txamt=1500",
	"syssn=20251117000300020087033882&note=%E5%82%99%E8%A8%BB+remark",
	"syssn=S1&note=x&code=APPCODE",
	"SIGN=ABCDEF&txamt=1&Client_Key=k&appcode=a&key=1",
	"mchid=ZaMVg12345&txamt=1500",
	"a=1&&b=2&",
	"a&b=2",
	"a=&b=",
	"=1",
	"a=1;b=2",
	"txamt=%zz",
	"txamt=1%2",
	"tx%zzamt=1",
	"%",
	"a=%E6%B8",
	"goods_name=%FF%FE",
	"a=%00&b=%7F&c=%C2%85",
	"a=x%0D%0Ay%09z",
	"txamt=1&txamt=2",
	"a+b=1",
	"a%20b=1",
	strings.Repeat("n", 64) + "=1",
	strings.Repeat("n", 65) + "=1",
	"goods_name=" + url.QueryEscape(big5Test),
	"goods_name=" + big5Test,
	"goods_name=" + url.QueryEscape(gbkTest),
	"goods_name=" + url.QueryEscape(shiftJISTest),
	"goods_name=" + url.QueryEscape(eucKRTest),
	"goods_name=%FF%FF",
}

// fuzzCharsetLabels index the charset argument of FuzzParseForm; "" and
// utf-8 mean no transcoding.
var fuzzCharsetLabels = []string{"", "utf-8", "big5", "gbk", "gb18030", "shift_jis", "euc-kr", "euc-jp", "iso-2022-jp", "windows-1252", "koi8-r", "x-user-defined"}

// legacyCharsetLabels are the labels LookupCharset turns into a Charset:
// the charsets docs/requests.md names plus every other WHATWG single- and
// multi-byte encoding.
var legacyCharsetLabels = []string{
	"big5", "gbk", "gb18030", "shift_jis", "euc-kr", "euc-jp", "iso-2022-jp",
	"ibm866", "iso-8859-2", "iso-8859-3", "iso-8859-4", "iso-8859-5", "iso-8859-6", "iso-8859-7",
	"iso-8859-8", "iso-8859-8-i", "iso-8859-10", "iso-8859-13", "iso-8859-14", "iso-8859-15", "iso-8859-16",
	"koi8-r", "koi8-u", "macintosh", "windows-874", "windows-1250", "windows-1251", "windows-1252",
	"windows-1253", "windows-1254", "windows-1255", "windows-1256", "windows-1257", "windows-1258",
	"x-mac-cyrillic", "x-user-defined",
}

func loadFuzzVectors(f *testing.F) testvectors.File {
	f.Helper()
	return testvectors.Load(f)
}

// validName is the documented name rule: 1-64 bytes of A-Z a-z 0-9 _ . -
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// refusedControl is the documented value rule: C0 controls other than
// tab, CR and LF, DEL, and the C1 controls are refused.
func refusedControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return r < 0x20 || r == 0x7f || (0x80 <= r && r <= 0x9f)
}

// validValue is what ParseForm promises about every value it returns.
func validValue(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, refusedControl)
}

// printableASCII reports s is 0x21-0x7e only (no space, no control).
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// checkParams asserts what every Params from ParseForm satisfies: names
// strictly ascending (sorted, unique) and valid, values valid UTF-8
// without refused control characters.
func checkParams(t *testing.T, p Params) {
	t.Helper()
	for i, kv := range p {
		if !validName(kv.Name) {
			t.Fatalf("param %d: invalid name %q", i, kv.Name)
		}
		if !validValue(kv.Value) {
			t.Fatalf("param %q: value %q is not valid UTF-8 or holds a refused control character", kv.Name, kv.Value)
		}
		if i > 0 && p[i-1].Name >= kv.Name {
			t.Fatalf("params not strictly ascending: %q then %q", p[i-1].Name, kv.Name)
		}
	}
}

// refCanonical builds the string QFPay signs from a map, the way API.md
// section 3 describes it: names sorted byte-wise, raw values, '&'.
func refCanonical(m map[string]string) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
	}
	return b.String()
}

// refDigest is hex(hash(data+key)): upper-case for MD5, lower for SHA-256.
func refDigest(t SignType, data, key string) string {
	if t == SHA256 {
		sum := sha256.Sum256([]byte(data + key))
		return hex.EncodeToString(sum[:])
	}
	sum := md5.Sum([]byte(data + key))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// foldHex folds a-f to A-F, the only case folding Verify documents.
func foldHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// sameSig is the documented comparison: equal length, equal bytes up to
// the case of hex letters.
func sameSig(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if foldHex(a[i]) != foldHex(b[i]) {
			return false
		}
	}
	return true
}

// alterSigByte returns sig with byte i changed to something that is not
// the same byte up to hex case; the replacement comes from the input.
func alterSigByte(sig string, i int, repl byte) string {
	if foldHex(repl) == foldHex(sig[i]) {
		repl = sig[i] ^ 0x40 // never a case twin of a hex digit or letter
	}
	b := []byte(sig)
	b[i] = repl
	return string(b)
}

// mustFieldError asserts err is a *FieldError with one of rules.
func mustFieldError(t *testing.T, err error, rules ...string) *FieldError {
	t.Helper()
	fe, ok := AsFieldError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *FieldError", err, err)
	}
	for _, r := range rules {
		if fe.Rule == r {
			return fe
		}
	}
	t.Fatalf("error %v: rule %q, want one of %v", err, fe.Rule, rules)
	return nil
}
