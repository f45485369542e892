<?php
// Posts an UNSIGNED QFPay payment to the qfsign sidecar and prints pay_url.
// No key, no signature here: the sidecar signs. Needs the curl extension.

$base = getenv('QFSIGN_URL') ?: 'http://127.0.0.1:8080';
// In an application out_trade_no is the order's own id, stored before the
// call and reused on retry; a fresh one here makes every run a new order.
$order = getenv('QFSIGN_OUT_TRADE_NO') ?: 'ORDER-' . time() . '-' . bin2hex(random_bytes(4));

$form = http_build_query([
    'txamt' => getenv('QFSIGN_TXAMT') ?: '1500',
    'txcurrcd' => 'HKD',
    'pay_type' => '801101',
    'out_trade_no' => $order,
    'goods_name' => '測試 test', // this file is UTF-8, so the bytes sent are too
    'return_url' => 'https://shop.example/done',
]);

$replayed = false;
$ch = curl_init("$base/trade/v1/payment");
curl_setopt_array($ch, [
    CURLOPT_POST => true,
    // A string, not an array: an array would be sent as multipart/form-data.
    CURLOPT_POSTFIELDS => $form,
    CURLOPT_HTTPHEADER => ['Content-Type: application/x-www-form-urlencoded'],
    CURLOPT_RETURNTRANSFER => true,
    CURLOPT_TIMEOUT => 30,
    CURLOPT_HEADERFUNCTION => function ($ch, $line) use (&$replayed) {
        if (preg_match('/^x-qfsign-replayed:\s*true/i', $line)) {
            $replayed = true;
        }
        return strlen($line);
    },
]);
$body = curl_exec($ch);
if ($body === false) {
    fwrite(STDERR, "qfsign unreachable: " . curl_error($ch) . "\n");
    exit(1);
}
$status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);

if ($status !== 200) {
    // A refusal from the gateway: {"error","field","rule"}.
    fwrite(STDERR, "payment $order refused (HTTP $status): $body\n");
    exit(1);
}
$answer = json_decode($body, true);
if (($answer['respcd'] ?? null) !== '0000') {
    fwrite(STDERR, "payment $order failed: $body\n");
    exit(1);
}
if ($replayed) {
    fwrite(STDERR, "order $order was already submitted: this is the gateway's recorded answer (X-Qfsign-Replayed)\n");
}
echo $answer['pay_url'], "\n";
