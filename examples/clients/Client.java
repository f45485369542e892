import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Posts an UNSIGNED QFPay payment to the qfsign sidecar and prints pay_url.
 * No key, no signature here: the sidecar signs. Run: java Client.java
 */
public class Client {
    public static void main(String[] args) throws Exception {
        String base = env("QFSIGN_URL", "http://127.0.0.1:8080");
        // In an application out_trade_no is the order's own id, stored before
        // the call and reused on retry; a fresh one here makes every run a new order.
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        String order = env("QFSIGN_OUT_TRADE_NO",
                "ORDER-" + System.currentTimeMillis() / 1000 + "-" + HexFormat.of().formatHex(random));

        Map<String, String> form = new LinkedHashMap<>();
        form.put("txamt", env("QFSIGN_TXAMT", "1500"));
        form.put("txcurrcd", "HKD");
        form.put("pay_type", "801101");
        form.put("out_trade_no", order);
        form.put("goods_name", "測試 test");
        form.put("return_url", "https://shop.example/done");
        String encoded = form.entrySet().stream()
                .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                        + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));

        HttpClient client = HttpClient.newBuilder()
                // Plain HTTP to a loopback sidecar: no point trying an h2c upgrade.
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/trade/v1/payment"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(encoded))
                .build();
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        String body = response.body();

        if (response.statusCode() != 200) {
            // A refusal from the gateway: {"error","field","rule"}.
            System.err.println("payment " + order + " refused (HTTP " + response.statusCode() + "): " + body);
            System.exit(1);
        }
        if (!"0000".equals(jsonString(body, "respcd"))) {
            System.err.println("payment " + order + " failed: " + body);
            System.exit(1);
        }
        if (response.headers().firstValue("X-Qfsign-Replayed").orElse("").equals("true")) {
            System.err.println("order " + order + " was already submitted: this is the gateway's recorded answer (X-Qfsign-Replayed)");
        }
        System.out.println(jsonString(body, "pay_url"));
    }

    static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }

    /**
     * The JDK has no JSON parser. QFPay's answer is a flat object of strings,
     * so this reads one top-level string field; use Jackson or Gson in an application.
     */
    static String jsonString(String json, String field) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(field) + "\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(json);
        if (!m.find()) {
            return null;
        }
        StringBuilder out = new StringBuilder();
        String s = m.group(1);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\') {
                out.append(c);
                continue;
            }
            char e = s.charAt(++i);
            switch (e) {
                case 'u' -> { out.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16)); i += 4; }
                case 'n' -> out.append('\n');
                case 't' -> out.append('\t');
                case 'r' -> out.append('\r');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                default -> out.append(e); // \" \\ \/
            }
        }
        return out.toString();
    }
}
