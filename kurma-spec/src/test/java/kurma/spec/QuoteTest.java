package kurma.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class QuoteTest {
    @Test
    void shortValuesAreShownWhole() {
        assertEquals("\"tmp\"", Quote.of("tmp"));
        assertEquals("/run/x", Quote.cut("/run/x"));
        String path = "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + "0123456789abcdef".repeat(4) + "/rootfs";
        assertEquals(path, Quote.cut(path), "an engine's longest paths fit");
        assertEquals("\"\"", Quote.of(""));
        assertEquals("null", Quote.of(null));
    }

    @Test
    void longValuesAreCutWithTheirLength() {
        String h = "h".repeat(100_000);
        assertEquals("\"" + "h".repeat(60) + "\u2026\" (100000 characters)", Quote.of(h));
        assertEquals("h".repeat(60) + "\u2026 (100000 characters)", Quote.cut(h));
        assertEquals("h".repeat(128), Quote.cut("h".repeat(128)));
        assertEquals("h".repeat(60) + "\u2026 (129 characters)", Quote.cut("h".repeat(129)));
        assertEquals("abc\u2026 (6 characters)", Quote.cut("abcdef", 3));
    }

    @Test
    void controlCharactersCannotBreakTheLine() {
        assertEquals("\"a\\nb\\tc\\rd\\u001b[2Je\\u0000\\u0085\"", Quote.of("a\nb\tc\rd\u001b[2Je\u0000\u0085"));
        assertEquals("\"say \\\"hi\\\" \\\\ bye\"", Quote.of("say \"hi\" \\ bye"));
        assertEquals("say \"hi\" \\ bye", Quote.cut("say \"hi\" \\ bye"), "unquoted: only control characters are escaped");
        assertEquals("x\\u2028y", Quote.cut("x\u2028y"));
        String cut = Quote.of("\n".repeat(1000));
        assertTrue(cut.length() < 200 && !cut.contains("\n"), cut);
    }

    @Test
    void surrogatesStayPairedOrAreEscaped() {
        String emoji = "\uD83D\uDE00";
        assertEquals("\"" + emoji + "\"", Quote.of(emoji));
        // A pair across the cut is left out whole, not halved.
        String s = "a".repeat(59) + emoji + "b".repeat(100);
        assertEquals("a".repeat(59) + "\u2026 (161 characters)", Quote.cut(s));
        assertEquals("a".repeat(58) + emoji + "\u2026 (160 characters)", Quote.cut("a".repeat(58) + emoji + "b".repeat(100)));
        assertEquals("\\ud800x", Quote.cut("\uD800x"), "a lone half");
    }
}
