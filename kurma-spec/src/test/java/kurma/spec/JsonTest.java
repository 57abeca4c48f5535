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
}
