package kurma.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The list naming the stage2 processes the launcher started (launcher/src/launcher.c). */
class Stage2SparesTest {

    @Test
    void noListMeansNone() {
        assertNull(Stage2Spares.parse(null, "spares").take());
        assertNull(Stage2Spares.parse("", "spares").take());
        assertNull(Stage2Spares.none().take());
    }

    @Test
    void aMalformedEntryIsAOneLineError() {
        for (String bad : new String[] {"12:5", "12:5:4:3", "x:5:4", "12:5:4,", "12:5:99999999999"}) {
            KurmaException e = assertThrows(KurmaException.class, () -> Stage2Spares.parse(bad, "kurma.stage2.spawned"), bad);
            assertTrue(e.getMessage().startsWith("kurma.stage2.spawned: malformed entry"), e.getMessage());
            assertEquals(-1, e.getMessage().indexOf('\n'));
            assertEquals(KurmaException.Code.INVALID_ARGUMENT, e.code());
        }
    }

    @Test
    void anEntryThatIsNoFdOfOursIsSkipped() {
        // pipes this process does not have: no stage2 from them (one will be spawned instead)
        assertNull(Stage2Spares.parse("1:100000:100001", "spares").take());
    }
}
