package kurma.image.registry;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A parsed {@code WWW-Authenticate} header (RFC 7235): a scheme and its parameters, e.g.
 * {@code Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull"}.
 * Quoted values may hold commas (scopes do), so this is a small tokenizer, not a split.
 */
record Challenge(String scheme, Map<String, String> params) {

    static Challenge parse(String header) {
        if (header == null) return null;
        String h = header.trim();
        int sp = h.indexOf(' ');
        String scheme = (sp < 0 ? h : h.substring(0, sp)).toLowerCase(Locale.ROOT);
        Map<String, String> params = new LinkedHashMap<>();
        int i = sp < 0 ? h.length() : sp + 1;
        while (i < h.length()) {
            while (i < h.length() && (h.charAt(i) == ' ' || h.charAt(i) == ',')) i++;
            int eq = h.indexOf('=', i);
            if (eq < 0) break;
            String key = h.substring(i, eq).trim().toLowerCase(Locale.ROOT);
            i = eq + 1;
            StringBuilder v = new StringBuilder();
            if (i < h.length() && h.charAt(i) == '"') {
                i++;
                while (i < h.length() && h.charAt(i) != '"') {
                    if (h.charAt(i) == '\\' && i + 1 < h.length()) i++;
                    v.append(h.charAt(i++));
                }
                i++; // closing quote
            } else {
                while (i < h.length() && h.charAt(i) != ',') v.append(h.charAt(i++));
            }
            params.put(key, v.toString().trim());
        }
        return new Challenge(scheme, params);
    }
}
