package tests

import (
	"strings"
	"testing"
)

// TestMoreBadInput extends the refusal battery: injection attempts,
// encodings, transports, methods and paths, and every endpoint's rules.
// With TestRefusalsForwardNothing it makes over 60 cases through the real
// Caddy, each forwarding nothing.
func TestMoreBadInput(t *testing.T) {
	form := formType
	emoji := strings.Repeat("%F0%9F%98%80", 17) // 17 characters, 68 bytes
	long200 := strings.Repeat("x", 190)
	runRefusals(t, []refusalCase{
		{"CRLF in a value (header injection)", "", "", "", okForm + "&goods_name=a%0D%0AX-QF-SIGN:+x", 400, "goods_name", "control"},
		{"LF in out_trade_no", "", "", "", strings.Replace(okForm, "R-1", "R%0A1", 1), 400, "out_trade_no", "control"},
		{"CR in an unknown field", "", "", "", okForm + "&pay_tag=A%0DB", 400, "pay_tag", "control"},
		{"tab in a value", "", "", "", okForm + "&goods_name=a%09b", 400, "goods_name", "control"},
		{"DEL in a value", "", "", "", okForm + "&udid=a%7Fb", 400, "udid", "control"},
		{"raw invalid UTF-8 byte", "", "", "", okForm + "&goods_name=a\xffb", 400, "goods_name", "utf8"},
		{"raw semicolon", "", "", "", okForm + ";goods_name=x", 400, "out_trade_no", "syntax"},
		{"goods_name bytes over 64", "", "", "", okForm + "&goods_name=" + emoji, 400, "goods_name", "max_length"},
		{"return_url over 200 for WAP", "", "", "", strings.Replace(okForm, "801101", "801107", 1) + "&return_url=https%3A%2F%2Fshop.example%2F" + long200, 400, "return_url", "max_length"},
		{"expired_time letters", "", "", "", okForm + "&expired_time=ten", 400, "expired_time", "range"},
		{"txdtm wrong layout", "", "", "", okForm + "&txdtm=27%2F11%2F2026", 400, "txdtm", "datetime"},
		{"key field", "", "", "", okForm + "&key=x", 400, "key", "forbidden"},
		{"APP_CODE upper case", "", "", "", okForm + "&APP_CODE=x", 400, "APP_CODE", "case"},
		{"appcode field", "", "", "", okForm + "&appcode=x", 400, "appcode", "forbidden"},
		{"empty body", "", "", "", "", 400, "txamt", "required"},
		{"only separators", "", "", "", "&&&", 400, "txamt", "required"},
		{"utf-16 declared", "", "", form + "; charset=utf-16", okForm, 415, "", "charset"},
		{"utf-8 declared, GBK bytes", "", "", form + "; charset=utf-8", okForm + "&goods_name=%B2%E2%CA%D4", 400, "goods_name", "utf8"},
		{"gbk undecodable", "", "", form + "; charset=gbk", okForm + "&goods_name=%FF%FF", 400, "goods_name", "charset"},
		{"chunked over max_body", methodChunked, "", "", okForm + "&goods_name=" + strings.Repeat("x", 5000), 413, "", "max_body"},
		{"multipart file part", "", "", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.pdf\"\r\n\r\n%PDF\r\n--x--\r\n", 415, "doc", "file"},
		{"multipart without a boundary", "", "", "multipart/form-data", "--x--", 415, "", "content_type"},
		{"multipart malformed", "", "", "multipart/form-data; boundary=x", "txamt=1", 400, "", "syntax"},
		{"text/plain", "", "", "text/plain", okForm, 415, "", "content_type"},
		{"PUT payment", "PUT", "", "", okForm, 405, "", "method"},
		{"DELETE payment", "DELETE", "", "", "", 405, "", "method"},
		{"PATCH refund", "PATCH", "/trade/v1/refund", "", "", 405, "", "method"},
		{"POST close", "", "/trade/v1/close", "", "out_trade_no=x&txamt=1", 405, "", "method"},
		{"GET close with a body", "GET", "/trade/v1/close?out_trade_no=x&txamt=1", "", "a=b", 400, "", "query_string"},
		{"trailing slash", "", "/trade/v1/payment/", "", okForm, 404, "", "path"},
		{"upper-case path", "", "/trade/v1/PAYMENT", "", okForm, 404, "", "path"},
		{"dot segment", "", "/trade/v1/./payment", "", okForm, 404, "", "path"},
		{"refund txamt letters", "", "/trade/v1/refund", "", "syssn=S&out_trade_no=RF-1&txamt=1a", 400, "txamt", "digits"},
		{"refund without out_trade_no", "", "/trade/v1/refund", "", "syssn=S&txamt=1", 400, "out_trade_no", "required"},
		{"refund syssn too long", "", "/trade/v1/refund", "", "syssn=" + strings.Repeat("1", 41) + "&out_trade_no=RF-2&txamt=1", 400, "syssn", "max_length"},
		{"reversal without ids", "", "/trade/v1/reversal", "", "txamt=1", 400, "syssn", "required"},
		{"add_note with code", "", "/trade/v1/add_note", "", "syssn=S&note=x&code=C", 400, "code", "forbidden"},
		{"add_note control char", "", "/trade/v1/add_note", "", "syssn=S&note=a%0Ab", 400, "note", "control"},
		{"query page_size zero", "", "/trade/v1/query", "", "page_size=0", 400, "page_size", "range"},
		{"query respcd letters", "", "/trade/v1/query", "", "respcd=ok", 400, "respcd", "digits"},
	})
}
