package signer

import (
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// pairsFromFuzz reads name=value pairs separated by '&' from raw bytes,
// without unescaping, so names and values may hold any byte but '&'
// (names also no '='). A later pair replaces an earlier one of the same
// name. The names come back in first-seen order.
func pairsFromFuzz(data []byte) (map[string]string, []string) {
	m := make(map[string]string)
	var order []string
	for seg := range strings.SplitSeq(string(data), "&") {
		if seg == "" {
			continue
		}
		k, v, _ := strings.Cut(seg, "=")
		if _, ok := m[k]; !ok {
			order = append(order, k)
		}
		m[k] = v
	}
	return m, order
}

// FuzzCanonical: for any set of names and values, the canonical string
// is API.md's (sorted names, raw values) whatever the order the Params
// were built in (FromMap, or Set in a shuffled order with a decoy set and
// deleted), Sign is the same for both orders and equals the reference
// digest, Verify(Sign(x)) is true for a non-empty key (and in either hex
// case), and false after changing any one byte of the signature, after
// truncating or extending it, and with another key. When every pair is a
// valid form field, the same pairs sent in the shuffled order parse to
// the same Params.
func FuzzCanonical(f *testing.F) {
	for _, v := range loadFuzzVectors(f).Request {
		f.Add([]byte(v.Canonical), v.ClientKey, uint64(1), uint16(0), byte('0'))
	}
	f.Add([]byte("txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=SEED-801101&goods_name=測試 test&return_url=https://shop.example/done"), "0123456789ABCDEF", uint64(7), uint16(31), byte('a'))
	f.Add([]byte("b=2&a=1&a=3&=empty&c="), "", uint64(0), uint16(5), byte(0))
	f.Add([]byte("k=v\x00\xff&Z=;"), "k", uint64(42), uint16(63), byte('F'))

	f.Fuzz(func(t *testing.T, data []byte, key string, seed uint64, pos uint16, repl byte) {
		if len(data) > maxFormInput || len(key) > 256 {
			return
		}
		m, order := pairsFromFuzz(data)
		a := FromMap(m)
		want := refCanonical(m)
		if got := a.Canonical(); got != want {
			t.Fatalf("canonical %q, want %q", got, want)
		}
		if got := string(a.AppendCanonical([]byte("prefix"))); got != "prefix"+want {
			t.Fatalf("AppendCanonical does not append: %q", got)
		}

		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var b Params
		const decoy = "\xff decoy"
		_, hasDecoy := m[decoy]
		for i, k := range order {
			if i == len(order)/2 && !hasDecoy {
				b = b.Set(decoy, "x")
			}
			b = b.Set(k, m[k])
		}
		if !hasDecoy {
			b = b.Delete(decoy)
		}
		if !slices.Equal(a, b) {
			t.Fatalf("Params depend on insertion order:\n%q\n%q", a, b)
		}
		if b.Canonical() != want {
			t.Fatalf("canonical depends on insertion order: %q", b.Canonical())
		}
		for k, v := range m {
			if got, ok := b.Get(k); !ok || got != v {
				t.Fatalf("Get(%q) = %q, %v; want %q", k, got, ok, v)
			}
		}

		secret := NewSecret(key)
		other := NewSecret(key + "x")
		for _, st := range []SignType{MD5, SHA256} {
			sig := Sign(a, secret, st)
			if sigB := Sign(b, secret, st); sigB != sig {
				t.Fatalf("%v: Sign depends on insertion order: %s vs %s", st, sig, sigB)
			}
			if ref := refDigest(st, want, key); sig != ref {
				t.Fatalf("%v: Sign = %s, want hex(hash(canonical+key)) = %s", st, sig, ref)
			}
			if got := Verify(a, secret, st, sig); got != (key != "") {
				t.Fatalf("%v: Verify(Sign(x)) = %v with key %q", st, got, key)
			}
			if got := Verify(b, secret, st, strings.ToLower(sig)); got != (key != "") {
				t.Fatalf("%v: Verify(lower-case) = %v", st, got)
			}
			if got := Verify(b, secret, st, strings.ToUpper(sig)); got != (key != "") {
				t.Fatalf("%v: Verify(upper-case) = %v", st, got)
			}
			bad := alterSigByte(sig, int(pos)%len(sig), repl)
			if Verify(a, secret, st, bad) {
				t.Fatalf("%v: Verify accepts %s for %s", st, bad, sig)
			}
			if Verify(a, secret, st, sig[:len(sig)-1]) || Verify(a, secret, st, sig+"0") || Verify(a, secret, st, "") {
				t.Fatalf("%v: Verify accepts a signature of the wrong length", st)
			}
			if Verify(a, other, st, sig) {
				t.Fatalf("%v: Verify accepts the signature under another key", st)
			}
		}

		// The same fields on the wire in the shuffled order: when each is a
		// valid form field, ParseForm must accept them and give a.
		var wire strings.Builder
		for i, k := range order {
			if !validName(k) || !validValue(m[k]) {
				return
			}
			if i > 0 {
				wire.WriteByte('&')
			}
			wire.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(m[k]))
		}
		p, err := ParseForm([]byte(wire.String()), nil)
		if err != nil {
			t.Fatalf("ParseForm refuses valid fields %q: %v", wire.String(), err)
		}
		if !slices.Equal(p, a) {
			t.Fatalf("ParseForm(shuffled wire) = %q, want %q", p, a)
		}
	})
}

// FuzzVerifyNotification: VerifyNotification never panics and answers
// exactly "non-empty key and sig is hex(hash(raw body + key)) up to hex
// case"; a body signed with the key verifies in either case; the same
// signature fails after any one-byte change to the body, a byte added
// or removed, or another key. VerifyResponse, which parses the body as
// JSON, never panics and reports only *FieldError.
func FuzzVerifyNotification(f *testing.F) {
	for _, v := range loadFuzzVectors(f).Notification {
		f.Add([]byte(v.Body), v.ClientKey, v.MD5, uint16(0), byte(1))
		f.Add([]byte(v.Body), v.ClientKey, strings.ToLower(v.MD5), uint16(100), byte(0x20))
	}
	f.Add([]byte(`{"status":"1","notify_type":"refund","txamt":"300"}`), "k", "", uint16(7), byte(0))
	f.Add([]byte(""), "", "D41D8CD98F00B204E9800998ECF8427E", uint16(0), byte(0xff))
	f.Add([]byte("not json"), "key", strings.Repeat("Z", 32), uint16(3), byte('a'))

	f.Fuzz(func(t *testing.T, body []byte, key, sig string, pos uint16, delta byte) {
		if len(body) > maxFormInput || len(key) > 256 || len(sig) > 256 {
			return
		}
		secret := NewSecret(key)
		orig := slices.Clone(body)
		for _, st := range []SignType{MD5, SHA256} {
			good := refDigest(st, string(body), key)
			want := key != "" && sameSig(sig, good)
			if got := VerifyNotification(body, secret, st, sig); got != want {
				t.Fatalf("%v: VerifyNotification(%q) = %v, want %v (digest %s)", st, sig, got, want, good)
			}
			for _, s := range []string{good, strings.ToLower(good), strings.ToUpper(good)} {
				if got := VerifyNotification(body, secret, st, s); got != (key != "") {
					t.Fatalf("%v: signed body: VerifyNotification = %v with key %q", st, got, key)
				}
			}
			if key == "" {
				continue
			}
			if VerifyNotification(body, NewSecret(key+"\x00"), st, good) {
				t.Fatalf("%v: verifies under another key", st)
			}
			if VerifyNotification(append(slices.Clone(body), delta), secret, st, good) {
				t.Fatalf("%v: verifies with a byte appended", st)
			}
			if len(body) == 0 {
				continue
			}
			i := int(pos) % len(body)
			changed := slices.Clone(body)
			changed[i] ^= max(delta, 1)
			if VerifyNotification(changed, secret, st, good) {
				t.Fatalf("%v: verifies with byte %d changed from %#x to %#x", st, i, body[i], changed[i])
			}
			if VerifyNotification(slices.Delete(slices.Clone(body), i, i+1), secret, st, good) {
				t.Fatalf("%v: verifies with byte %d removed", st, i)
			}
		}
		if _, err := VerifyResponse(body, secret, MD5, sig); err != nil {
			mustFieldError(t, err, RuleSyntax)
		}
		if !slices.Equal(body, orig) {
			t.Fatal("the body was modified")
		}
	})
}
