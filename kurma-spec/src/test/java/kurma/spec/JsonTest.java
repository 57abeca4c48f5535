package kurma.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void parsesAllValueKinds() {
        Object v = Json.parse(" {\"a\": [1, -2.5, true, false, null, \"x\\n\\u00e9\\\"\"], \"b\": {}} ");
        Map<?, ?> m = (Map<?, ?>) v;
        List<?> a = (List<?>) m.get("a");
        assertEquals(1L, a.get(0));
        assertEquals(new BigDecimal("-2.5"), a.get(1));
        assertEquals(true, a.get(2));
        assertEquals(false, a.get(3));
        assertEquals(null, a.get(4));
        assertEquals("x\n\u00e9\"", a.get(5));
        assertEquals(Map.of(), m.get("b"));
    }

    @Test
    void bigUnsignedNumbersSurvive() {
        Object v = Json.parse("18446744073709551615");
        assertEquals(new BigDecimal("18446744073709551615"), v);
    }

    @Test
    void errorsNameLineAndColumn() {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("{\n  \"a\": 1,\n  \"b\" 2\n}"));
        assertTrue(e.getMessage().contains("line 3"), e.getMessage());
        assertThrows(JsonException.class, () -> Json.parse("{\"a\":1}x"));
        assertThrows(JsonException.class, () -> Json.parse("{\"a\":1,\"a\":2}"));
        assertThrows(JsonException.class, () -> Json.parse("[1,]"));
        assertThrows(JsonException.class, () -> Json.parse("\"unterminated"));
        assertThrows(JsonException.class, () -> Json.parse("01"));
        assertThrows(JsonException.class, () -> Json.parse("[".repeat(1000)));
    }

    @Test
    void writeThenParseRoundTrips() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("s", "tab\there \"q\" \u0001");
        m.put("n", 42L);
        m.put("l", List.of(1L, "two", Map.of()));
        assertEquals(m, Json.parse(Json.write(m)));
        assertEquals(m, Json.parse(Json.writePretty(m)));
    }

    @Test
    void utf8TextAndTheOffsetOfTheFirstBadByte() {
        byte[] ok = "{\"a\": \"\u00e9\uFFFD\uD83D\uDE00\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals("{\"a\": \"\u00e9\uFFFD\uD83D\uDE00\"}", Json.utf8(ok, "x"), "a real U+FFFD is text");
        byte[] latin1 = {'{', '"', 'a', '"', ':', '"', (byte) 0xe9, '"', '}'};
        JsonException e = assertThrows(JsonException.class, () -> Json.utf8(latin1, "config.json"));
        assertEquals("config.json is not valid UTF-8 (at byte offset 6)", e.getMessage());
        byte[] truncated = {'"', 'a', (byte) 0xe2, (byte) 0x82};
        assertEquals("f is not valid UTF-8 (at byte offset 2)", assertThrows(JsonException.class, () -> Json.utf8(truncated, "f")).getMessage());
        byte[] overlong = {'a', (byte) 0xc0, (byte) 0xaf};
        assertEquals("f is not valid UTF-8 (at byte offset 1)", assertThrows(JsonException.class, () -> Json.utf8(overlong, "f")).getMessage());
        byte[] surrogate = {'a', 'b', (byte) 0xed, (byte) 0xa0, (byte) 0x80};
        assertEquals("f is not valid UTF-8 (at byte offset 2)", assertThrows(JsonException.class, () -> Json.utf8(surrogate, "f")).getMessage());
    }

    @Test
    void errorsQuoteShortly() {
        String key = "k".repeat(100_000);
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("{\"" + key + "\":1,\"" + key + "\":2}"));
        String m = e.getMessage();
        assertTrue(m.length() < 200, () -> m.substring(0, 200));
        e = assertThrows(JsonException.class, () -> Json.parse("[\u0001]"));
        assertEquals("unexpected character '\\u0001' at line 1, column 2", e.getMessage());
    }
}
