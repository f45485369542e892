package signer

import (
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"
)

func TestVerifyResponse(t *testing.T) {
	key := NewSecret("resp-key")
	body := []byte(`{"respcd":"0000","txamt":1500,"syssn":"2025","data":[{"x":"y"}],"ok":true}`)
	sum := md5.Sum([]byte("ok=true&respcd=0000&syssn=2025&txamt=1500resp-key"))
	good := strings.ToUpper(hex.EncodeToString(sum[:]))
	tests := []struct {
		name string
		body []byte
		sig  string
		want bool
		err  bool
	}{
		{"valid", body, good, true, false},
		{"lower-case hex", body, strings.ToLower(good), true, false},
		{"tampered", []byte(strings.Replace(string(body), "1500", "1501", 1)), good, false, false},
		{"wrong sig", body, strings.Repeat("0", 32), false, false},
		{"not an object", []byte(`[1,2]`), good, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyResponse(tt.body, key, MD5, tt.sig)
			if ok != tt.want || (err != nil) != tt.err {
				t.Fatalf("got %v %v", ok, err)
			}
		})
	}
}
