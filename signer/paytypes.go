package signer

// PayTypes is the current pay-type table of API.md section 9, the
// default allow-list. An explicit list, never a pattern: an unknown code
// is refused before it reaches QFPay.
var PayTypes = map[string]string{
	"801101": "Alipay online web (overseas)",
	"801107": "Alipay online WAP (overseas)",
	"801501": "Alipay online scan (HK)",
	"801512": "Alipay online WAP (HK)",
	"801514": "Alipay HK web",
	"801510": "Alipay HK in-app",
	"801110": "Alipay in-app (overseas)",
	"800101": "Alipay MPM",
	"800108": "Alipay CPM",
	"800107": "Alipay service window H5",
	"800201": "WeChat MPM",
	"800208": "WeChat CPM",
	"800207": "WeChat JSAPI",
	"800212": "WeChat H5",
	"800210": "WeChat in-app",
	"800213": "WeChat mini-program",
	"801008": "WeChat Pay HK CPM",
	"801010": "WeChat Pay HK in-app",
	"800008": "aggregated CPM",
	"805801": "PayMe MPM",
	"805808": "PayMe CPM",
	"805814": "PayMe web",
	"805812": "PayMe WAP",
	"800701": "UnionPay QuickPass MPM",
	"800708": "UnionPay QuickPass CPM",
	"800712": "UnionPay QuickPass WAP",
	"800714": "UnionPay QuickPass web",
	"802001": "FPS MPM",
	"802010": "FPS app-to-app",
	"803701": "Octopus MPM",
	"803712": "Octopus WAP",
	"803714": "Octopus web",
	"802801": "Visa-MC online",
	"802808": "Visa-MC offline",
	"806527": "Apple Pay",
	"806708": "UnionPay card",
	"806808": "Amex",
}

// Currencies QFPay accepts in txcurrcd.
var Currencies = set("AED", "AUD", "CAD", "CNY", "EUR", "HKD", "IDR", "JPY", "MMK", "MYR", "SGD", "THB", "USD")

var (
	// expiringTypes accept expired_time (QR and online types only).
	expiringTypes = set("800201", "800101", "801101", "801107", "801501", "801512", "801010", "801510", "800213")
	// shortReturnURLTypes are Alipay WAP types that limit return_url to 200 bytes.
	shortReturnURLTypes = set("801107", "801512")
	// cpmTypes scan the customer's code and need auth_code.
	cpmTypes = set("800108", "800208", "801008", "800008", "805808", "800708", "802808", "806708", "806808")
	// inAppTypes need goods_name.
	inAppTypes = set("801510", "801110", "800210", "801010", "802010")
)

func set(vals ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(vals))
	for _, v := range vals {
		m[v] = struct{}{}
	}
	return m
}

func in(m map[string]struct{}, v string) bool {
	_, ok := m[v]
	return ok
}

// RespClass groups QFPay respcd values by what a caller should do.
type RespClass string

const (
	ClassSuccess    RespClass = "success"
	ClassPending    RespClass = "pending"    // query, never resend
	ClassSignature  RespClass = "signature"  // nothing was charged
	ClassDuplicate  RespClass = "duplicate"  // out_trade_no reused
	ClassRisk       RespClass = "risk"       // blocked by risk control
	ClassCongestion RespClass = "congestion" // retry later, not automatically
	ClassFailure    RespClass = "failure"
	ClassNone       RespClass = "none" // no respcd seen
)

var respClasses = map[string]RespClass{
	"0000": ClassSuccess,
	"1143": ClassPending, "1145": ClassPending, "1298": ClassPending,
	"1108": ClassSignature,
	"1102": ClassDuplicate, "2011": ClassDuplicate,
	"1294": ClassRisk,
	"1100": ClassCongestion, "1295": ClassCongestion, "1296": ClassCongestion, "1297": ClassCongestion,
}

// ClassifyRespcd maps a respcd to its class; unknown codes are failures.
func ClassifyRespcd(respcd string) RespClass {
	if respcd == "" {
		return ClassNone
	}
	if c, ok := respClasses[respcd]; ok {
		return c
	}
	return ClassFailure
}
