package kurma.spec;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CoderResult;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, strict RFC 8259 JSON reader and writer.
 *
 * <p>Why not a library: the runtime CLI is started several times per container, so its
 * start-up is Kurma's latency. A data-binding library costs 100 ms of class loading and
 * reflection on every invocation; config.json and state.json need none of that. Values are
 * plain Java objects: {@code Map<String,Object>} (insertion ordered), {@code List<Object>},
 * {@code String}, {@code Long} or {@code BigDecimal}, {@code Boolean} and {@code null}.
 */
public final class Json {
    /**
     * The text as an array: the CLI runs interpreted, where an array access is one bytecode
     * and String.charAt several calls (the parser looks at every character).
     */
    private final char[] text;
    private int pos;

    private Json(String text) {
        this.text = text.toCharArray();
    }

    /** Parses one JSON document; trailing non-space text is an error. */
    public static Object parse(String text) {
        Json p = new Json(text);
        p.skipSpace();
        Object v = p.value(0);
        p.skipSpace();
        if (p.pos != p.text.length) throw p.error("unexpected text after the JSON value");
        return v;
    }

    /**
     * The bytes of a JSON text (RFC 8259: UTF-8) as a string. Bytes that are not UTF-8 are an
     * error naming the offset of the first ({@code NAME is not valid UTF-8 (at byte offset 17)}),
     * where the JDK would say "Input length = 1" or put U+FFFD in their place.
     */
    public static String utf8(byte[] bytes, String name) {
        String s = new String(bytes, StandardCharsets.UTF_8);
        // The decoding replaced bad bytes with U+FFFD: only then (or for a real U+FFFD) look closer.
        if (s.indexOf('\uFFFD') < 0) return s;
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CoderResult r = StandardCharsets.UTF_8.newDecoder().decode(in, CharBuffer.allocate(bytes.length), true);
        if (r.isError()) throw new JsonException(name + " is not valid UTF-8 (at byte offset " + in.position() + ")");
        return s;
    }

    private static final int MAX_DEPTH = 512;

    private Object value(int depth) {
        if (depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH);
        if (pos >= text.length) throw error("unexpected end of input");
        char c = text[pos];
        return switch (c) {
            case '{' -> object(depth);
            case '[' -> array(depth);
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", null);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) yield number();
                throw error("unexpected character '" + Quote.cut(String.valueOf(c)) + "'");
            }
        };
    }

    private Map<String, Object> object(int depth) {
        pos++; // '{'
        Map<String, Object> map = new LinkedHashMap<>();
        skipSpace();
        if (peek() == '}') {
            pos++;
            return map;
        }
        while (true) {
            skipSpace();
            if (peek() != '"') throw error("expected a string key");
            String key = string();
            skipSpace();
            expect(':');
            skipSpace();
            Object v = value(depth + 1);
            if (map.containsKey(key)) throw error("duplicate key " + Quote.of(key));
            map.put(key, v);
            skipSpace();
            char c = next();
            if (c == '}') return map;
            if (c != ',') throw error("expected ',' or '}'");
        }
    }

    private List<Object> array(int depth) {
        pos++; // '['
        List<Object> list = new ArrayList<>();
        skipSpace();
        if (peek() == ']') {
            pos++;
            return list;
        }
        while (true) {
            skipSpace();
            list.add(value(depth + 1));
            skipSpace();
            char c = next();
            if (c == ']') return list;
            if (c != ',') throw error("expected ',' or ']'");
        }
    }

    private String string() {
        pos++; // opening quote
        StringBuilder sb = null;
        int start = pos;
        while (true) {
            if (pos >= text.length) throw error("unterminated string");
            char c = text[pos];
            if (c == '"') {
                String s = sb == null ? new String(text, start, pos - start) : sb.append(text, start, pos - start).toString();
                pos++;
                return s;
            }
            if (c < 0x20) throw error("control character in string");
            if (c == '\\') {
                if (sb == null) sb = new StringBuilder();
                sb.append(text, start, pos - start);
                pos++;
                char e = next();
                switch (e) {
                    case '"', '\\', '/' -> sb.append(e);
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        if (pos + 4 > text.length) throw error("bad \\u escape");
                        try {
                            sb.append((char) Integer.parseInt(new String(text, pos, 4), 16));
                        } catch (NumberFormatException ex) {
                            throw error("bad \\u escape");
                        }
                        pos += 4;
                    }
                    default -> throw error("bad escape '\\" + Quote.cut(String.valueOf(e)) + "'");
                }
                start = pos;
            } else {
                pos++;
            }
        }
    }

    private Object number() {
        int start = pos;
        if (peek() == '-') pos++;
        if (peek() == '0') {
            pos++;
        } else if (isDigit(peek())) {
            while (isDigit(peek())) pos++;
        } else {
            throw error("bad number");
        }
        boolean integral = true;
        if (peek() == '.') {
            integral = false;
            pos++;
            if (!isDigit(peek())) throw error("bad number");
            while (isDigit(peek())) pos++;
        }
        if (peek() == 'e' || peek() == 'E') {
            integral = false;
            pos++;
            if (peek() == '+' || peek() == '-') pos++;
            if (!isDigit(peek())) throw error("bad number");
            while (isDigit(peek())) pos++;
        }
        String s = new String(text, start, pos - start);
        if (integral) {
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException tooBig) {
                return new BigDecimal(s);
            }
        }
        return new BigDecimal(s);
    }

    private Object literal(String word, Object v) {
        for (int i = 0; i < word.length(); i++) {
            if (pos + i >= text.length || text[pos + i] != word.charAt(i)) throw error("unexpected word");
        }
        pos += word.length();
        return v;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private char peek() {
        return pos < text.length ? text[pos] : '\0';
    }

    private char next() {
        if (pos >= text.length) throw error("unexpected end of input");
        return text[pos++];
    }

    private void expect(char c) {
        if (next() != c) {
            pos--;
            throw error("expected '" + c + "'");
        }
    }

    private void skipSpace() {
        while (pos < text.length) {
            char c = text[pos];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
            pos++;
        }
    }

    private JsonException error(String what) {
        int line = 1, col = 1;
        for (int i = 0; i < Math.min(pos, text.length); i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return new JsonException(what + " at line " + line + ", column " + col);
    }

    // ---------------------------------------------------------------- writing

    /** Compact JSON text of a value built from maps, lists, strings, numbers, booleans, null. */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, -1, 0);
        return sb.toString();
    }

    /** Indented JSON text (two spaces), as {@code runc spec} and {@code state} print. */
    public static String writePretty(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 2, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, int indent, int level) {
        // instanceof rather than a pattern switch: a type switch costs an indy bootstrap at start-up
        if (v == null) {
            sb.append("null");
        } else if (v instanceof String s) {
            quote(sb, s);
        } else if (v instanceof Boolean || v instanceof Number) {
            sb.append(v);
        } else if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) {
                sb.append("{}");
                return;
            }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) sb.append(',');
                first = false;
                newline(sb, indent, level + 1);
                quote(sb, String.valueOf(e.getKey()));
                sb.append(indent >= 0 ? ": " : ":");
                write(sb, e.getValue(), indent, level + 1);
            }
            newline(sb, indent, level);
            sb.append('}');
        } else if (v instanceof List<?> l) {
            if (l.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) sb.append(',');
                newline(sb, indent, level + 1);
                write(sb, l.get(i), indent, level + 1);
            }
            newline(sb, indent, level);
            sb.append(']');
        } else {
            throw new IllegalArgumentException("not a JSON value: " + v.getClass().getName());
        }
    }

    private static void newline(StringBuilder sb, int indent, int level) {
        if (indent < 0) return;
        sb.append('\n');
        sb.repeat(' ', indent * level);
    }

    private static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }

    /** An immutable empty map, handy as a default for absent objects. */
    public static Map<String, Object> emptyObject() {
        return Collections.emptyMap();
    }
}
