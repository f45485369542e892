package signer

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"unicode/utf8"
)

// maxParts bounds the parts of a multipart form; QFPay's largest form
// has a few dozen fields.
const maxParts = 256

// ParseMultipart reads multipart/form-data of plain fields, as PHP's curl
// sends when POSTFIELDS is an array: each part is one field, its value
// taken as UTF-8 bytes exactly. A file part (a filename in its
// Content-Disposition) is refused with rule file: QFPay takes no files.
// The result obeys the same rules as ParseForm's.
func ParseMultipart(body []byte, boundary string) (Params, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var p Params
	for {
		part, err := mr.NextRawPart() // raw: a part's transfer encoding is not undone
		if errors.Is(err, io.EOF) {
			// mime/multipart skips text that holds no delimiter at all.
			if len(p) == 0 && !bytes.Contains(body, []byte("--"+boundary+"--")) {
				return nil, fieldErr("", RuleSyntax, "the multipart body is malformed")
			}
			break
		}
		if err != nil {
			return nil, fieldErr("", RuleSyntax, "the multipart body is malformed")
		}
		if len(p) == maxParts {
			return nil, fieldErr("", RuleSyntax, "the multipart body has too many parts")
		}
		param, err := readPart(part)
		if err != nil {
			return nil, err
		}
		p = append(p, param)
	}
	return sortUnique(p)
}

func readPart(part *multipart.Part) (Param, error) {
	name := part.FormName()
	if err := checkName(name); err != nil {
		return Param{}, err
	}
	if isFilePart(part) {
		return Param{}, fieldErr(name, RuleFile, "file parts are not accepted; send plain fields")
	}
	raw, err := io.ReadAll(part)
	if err != nil {
		return Param{}, fieldErr(name, RuleSyntax, "the multipart body is malformed")
	}
	if !utf8.Valid(raw) {
		return Param{}, fieldErr(name, RuleUTF8, "the value is not valid UTF-8")
	}
	return checkedParam(name, string(raw))
}

// isFilePart: a filename parameter (even empty, as browsers send for an
// empty file input), or a Content-Type other than text/plain.
func isFilePart(part *multipart.Part) bool {
	_, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	if err != nil {
		return true
	}
	if _, ok := params["filename"]; ok {
		return true
	}
	if _, ok := params["filename*"]; ok {
		return true
	}
	ct := part.Header.Get("Content-Type")
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err != nil || mt != "text/plain"
}

// Merge joins two forms read from different places of one request (the
// query string and the body); a name in both is refused as repeated,
// since either could be the one a reader takes.
func Merge(a, b Params) (Params, error) {
	if len(a) == 0 {
		return b, nil
	}
	out := make(Params, 0, len(a)+len(b))
	return sortUnique(append(append(out, a...), b...))
}
