package kurma.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;

import org.junit.jupiter.api.Test;

class ClockTest {
    @Test
    void matchesJavaTime() {
        for (long s : new long[] {0, 951782400L, 1795405311L, 4102444800L, 1709164800L}) {
            String expected = Instant.ofEpochSecond(s, 123).toString().replace(".000000123Z", ".000000123Z");
            String ours = Clock.format(s, 123);
            assertEquals(Instant.parse(expected), Instant.parse(ours));
            assertEquals(expected.substring(0, 19), ours.substring(0, 19));
        }
    }

    @Test
    void errnoTextsMatchGlibc() {
        assertEquals("No such file or directory", Errno.describe(2));
        assertEquals("ENOENT", Errno.name(2));
        assertEquals("ELOOP", Errno.name(40));
    }
}
