// Posts an UNSIGNED QFPay payment to the qfsign sidecar and prints pay_url.
// No key, no signature here: the sidecar signs. Node 20, no dependencies.
import { randomBytes } from "node:crypto";

const base = process.env.QFSIGN_URL || "http://127.0.0.1:8080";
// In an application out_trade_no is the order's own id, stored before the
// call and reused on retry; a fresh one here makes every run a new order.
const order =
  process.env.QFSIGN_OUT_TRADE_NO ||
  `ORDER-${Math.floor(Date.now() / 1000)}-${randomBytes(4).toString("hex")}`;

// A URLSearchParams body is sent as application/x-www-form-urlencoded,
// with goods_name percent-encoded as UTF-8.
const response = await fetch(`${base}/trade/v1/payment`, {
  method: "POST",
  body: new URLSearchParams({
    txamt: process.env.QFSIGN_TXAMT || "1500",
    txcurrcd: "HKD",
    pay_type: "801101",
    out_trade_no: order,
    goods_name: "測試 test",
    return_url: "https://shop.example/done",
  }),
  signal: AbortSignal.timeout(30_000),
});
const body = await response.text();

if (!response.ok) {
  // A refusal from the gateway: {"error","field","rule"}.
  console.error(`payment ${order} refused (HTTP ${response.status}): ${body}`);
  process.exit(1);
}
let answer = {};
try {
  answer = JSON.parse(body);
} catch {
  // e.g. an empty 200: Caddy's answer when no site matches the Host
}
if (answer.respcd !== "0000") {
  console.error(`payment ${order} failed: ${body}`);
  process.exit(1);
}
if (response.headers.get("x-qfsign-replayed") === "true") {
  console.error(`order ${order} was already submitted: this is the gateway's recorded answer (X-Qfsign-Replayed)`);
}
console.log(answer.pay_url);
