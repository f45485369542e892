package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/qfsign/qfsign/signer"
)

// explanation is what `sign --explain` shows: enough to compare with
// another implementation's canonical string, nothing that reveals a value.
type explanation struct {
	params    signer.Params
	key       signer.Secret
	keySource string
	signType  signer.SignType
	sig       string
	appCode   string
}

// maskedCanonical is the canonical string with each value replaced by
// ***(n), n its length in bytes: names are shown, values never.
func maskedCanonical(p signer.Params) string {
	var b strings.Builder
	for i, kv := range p {
		if i > 0 {
			b.WriteByte('&')
		}
		fmt.Fprintf(&b, "%s=***(%d)", kv.Name, len(kv.Value))
	}
	return b.String()
}

func (e explanation) write(w io.Writer) error {
	digest := "MD5, upper-case hex"
	if e.signType == signer.SHA256 {
		digest = "SHA-256, lower-case hex"
	}
	appCode := e.appCode
	if appCode == "" {
		appCode = "<app_code>"
	}
	lines := []string{
		"explain: values are masked as ***(length in bytes)",
		"canonical: " + maskedCanonical(e.params),
		"         + key " + e.key.Fingerprint() + " (from " + e.keySource + ")",
		"sign type: " + e.signType.String() + " (" + digest + ")",
		"headers:   X-QF-APPCODE: " + appCode,
		"           X-QF-SIGN: " + e.sig,
	}
	if h := e.signType.Header(); h != "" {
		lines = append(lines, "           X-QF-SIGNTYPE: "+h)
	}
	lines = append(lines, fmt.Sprintf("body:      %d bytes, application/x-www-form-urlencoded, fields in the order above",
		len(e.params.Encode())))
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}
