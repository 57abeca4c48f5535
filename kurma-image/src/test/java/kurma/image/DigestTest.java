package kurma.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

class DigestTest {
    // sha256("hello\n"), as sha256sum prints it
    private static final String HELLO = "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    @Test
    void hashesAndVerifies() {
        byte[] b = "hello\n".getBytes(StandardCharsets.UTF_8);
        Digest d = Digest.sha256(b);
        assertEquals(HELLO, d.toString());
        assertEquals(d, Digest.parse(HELLO));
        assertTrue(d.matches(b));
        d.verify(b, "greeting");
        byte[] other = "hellO\n".getBytes(StandardCharsets.UTF_8);
        assertFalse(d.matches(other));
        ImageException e = assertThrows(ImageException.class, () -> d.verify(other, "greeting"));
        assertEquals(ImageException.Reason.DIGEST_MISMATCH, e.reason());
        assertTrue(e.getMessage().startsWith("greeting: digest mismatch"), e.getMessage());
    }

    @Test
    void parsesOnlyWellFormedDigests() {
        assertEquals("sha512", Digest.parse("sha512:" + "0".repeat(128)).algorithm());
        for (String bad : List.of("", "sha256", "sha256:", "sha256:" + "A".repeat(64), "sha256:" + "0".repeat(63),
                "sha256:" + "0".repeat(65), "md5:" + "0".repeat(32), ":" + "0".repeat(64), "sha256:../../etc/passwd")) {
            ImageException e = assertThrows(ImageException.class, () -> Digest.parse(bad), bad);
            assertEquals(ImageException.Reason.INVALID, e.reason());
        }
        assertFalse(Digest.isDigest("sha256:xyz"));
    }

    @Test
    void chainIdsFollowTheImageSpec() {
        Digest a = Digest.sha256("a"), b = Digest.sha256("b"), c = Digest.sha256("c");
        List<Digest> chain = Image.chainIds(List.of(a, b, c));
        assertEquals(a, chain.get(0));
        assertEquals(Digest.sha256(a + " " + b), chain.get(1));
        assertEquals(Digest.sha256(chain.get(1) + " " + c), chain.get(2));
    }

    @Test
    void platformsParseAndMatch() {
        assertEquals(new Platform("linux", "arm64", null), Platform.parse("linux/arm64"));
        assertEquals(new Platform("linux", "arm", "v7"), Platform.parse("linux/arm/v7"));
        assertEquals(new Platform("linux", "amd64", null), Platform.parse("amd64"));
        assertTrue(Platform.parse("linux/arm64").accepts(new Platform("linux", "arm64", "v8")));
        assertTrue(Platform.parse("linux/arm64/v8").accepts(new Platform("linux", "arm64", null)));
        assertFalse(Platform.parse("linux/arm/v7").accepts(new Platform("linux", "arm", "v6")));
        assertFalse(Platform.parse("linux/amd64").accepts(new Platform("windows", "amd64", null)));
        assertThrows(ImageException.class, () -> Platform.parse("linux//x"));
        assertThrows(ImageException.class, () -> Platform.parse("Linux/amd64"));
        assertEquals("linux", Platform.host().os());
    }
}
