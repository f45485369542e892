package qfpaytest

// messages is the page's text in one language.
type messages struct {
	Title, Banner, Language, Order, TestMerchant              string
	Merchant, MchID, Goods, Amount, OutTradeNo, Syssn         string
	TimeLeft, ExpiresAt, Actions, Pay, Cancel, LeavePending   string
	ScanHint, QRLabel, BackToMerchant                         string
	Open, Pending, Paid, Cancelled, Expired, Refunded, Failed string
	Reversed                                                  string
}

// catalog holds English and Traditional Chinese, the languages of QFPay's
// Hong Kong customers.
var catalog = map[string]messages{
	"en": {
		Title:          "Alipay checkout",
		Banner:         "Test checkout of the QFPay double: no real payment is made.",
		Language:       "Language",
		Order:          "Your order",
		TestMerchant:   "Test merchant",
		Merchant:       "Merchant",
		MchID:          "Merchant ID",
		Goods:          "Goods",
		Amount:         "Amount",
		OutTradeNo:     "Order number",
		Syssn:          "Transaction number",
		TimeLeft:       "Time left to pay",
		ExpiresAt:      "expires at",
		Actions:        "Payment",
		Pay:            "Pay",
		Cancel:         "Cancel",
		LeavePending:   "Leave pending",
		ScanHint:       "Scan to open this page on a phone.",
		QRLabel:        "QR code of this page",
		BackToMerchant: "Back to the merchant",
		Open:           "Waiting for payment.",
		Pending:        "Left pending: you can still pay here until the order expires.",
		Paid:           "Paid. Thank you.",
		Cancelled:      "The order was cancelled.",
		Expired:        "The order expired before it was paid.",
		Refunded:       "Paid, then refunded.",
		Reversed:       "Paid, then reversed.",
		Failed:         "The payment failed.",
	},
	"zh-Hant": {
		Title:          "支付寶收銀台",
		Banner:         "QFPay 測試替身的收銀台：不會產生真實付款。",
		Language:       "語言",
		Order:          "你的訂單",
		TestMerchant:   "測試商戶",
		Merchant:       "商戶",
		MchID:          "商戶編號",
		Goods:          "商品",
		Amount:         "金額",
		OutTradeNo:     "訂單編號",
		Syssn:          "交易編號",
		TimeLeft:       "剩餘付款時間",
		ExpiresAt:      "到期時間",
		Actions:        "付款",
		Pay:            "付款",
		Cancel:         "取消",
		LeavePending:   "稍後付款",
		ScanHint:       "用手機掃描，在手機上開啟此頁面。",
		QRLabel:        "此頁面的 QR 碼",
		BackToMerchant: "返回商戶",
		Open:           "等待付款。",
		Pending:        "已保留訂單：到期前仍可在此付款。",
		Paid:           "已付款，謝謝。",
		Cancelled:      "訂單已取消。",
		Expired:        "訂單在付款前已逾期。",
		Refunded:       "已付款，其後已退款。",
		Reversed:       "已付款，其後已撤銷。",
		Failed:         "付款失敗。",
	},
}
