#!/usr/bin/env python3
"""Posts an UNSIGNED QFPay payment to the qfsign sidecar and prints pay_url.

No key, no signature here: the sidecar signs. Standard library only.
"""
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

base = os.environ.get("QFSIGN_URL") or "http://127.0.0.1:8080"
# In an application out_trade_no is the order's own id, stored before the
# call and reused on retry; a fresh one here makes every run a new order.
order = os.environ.get("QFSIGN_OUT_TRADE_NO") or f"ORDER-{int(time.time())}-{secrets.token_hex(4)}"

form = urllib.parse.urlencode({
    "txamt": os.environ.get("QFSIGN_TXAMT") or "1500",
    "txcurrcd": "HKD",
    "pay_type": "801101",
    "out_trade_no": order,
    "goods_name": "測試 test",  # urlencode percent-encodes it as UTF-8
    "return_url": "https://shop.example/done",
}).encode()
request = urllib.request.Request(
    base + "/trade/v1/payment",
    data=form,
    headers={"Content-Type": "application/x-www-form-urlencoded"},
)
try:
    with urllib.request.urlopen(request, timeout=30) as response:
        replayed = response.headers.get("X-Qfsign-Replayed") == "true"
        body = response.read().decode()
except urllib.error.HTTPError as refusal:
    # 4xx/5xx from the gateway: {"error","field","rule"}.
    sys.exit(f"payment {order} refused (HTTP {refusal.code}): {refusal.read().decode()}")

try:
    answer = json.loads(body)
except ValueError:  # e.g. an empty 200: Caddy's answer when no site matches the Host
    answer = {}
if answer.get("respcd") != "0000":
    sys.exit(f"payment {order} failed: {body}")
if replayed:
    print(f"order {order} was already submitted: this is the gateway's recorded answer (X-Qfsign-Replayed)", file=sys.stderr)
print(answer["pay_url"])
