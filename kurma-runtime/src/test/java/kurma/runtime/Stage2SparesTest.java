package kurma.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The launcher's property naming the stage2 processes it started (stage2/src/launcher.c). */
class Stage2SparesTest {
    private static final String PROPERTY = "kurma.stage2.spawned";

    @AfterEach
    void clear() {
        System.clearProperty(PROPERTY);
    }

    @Test
    void noPropertyMeansNone() {
        System.clearProperty(PROPERTY);
        assertNull(Stage2Spares.fromLauncher().take(0));
        assertNull(Stage2Spares.none().take(0));
    }

    @Test
    void aMalformedEntryIsAOneLineError() {
        for (String bad : new String[] {"12:5", "12:5:4:3", "x:5:4", "12:5:4,", "12:5:99999999999"}) {
            System.setProperty(PROPERTY, bad);
            KurmaException e = assertThrows(KurmaException.class, Stage2Spares::fromLauncher, bad);
            assertTrue(e.getMessage().startsWith("kurma.stage2.spawned: malformed entry"), e.getMessage());
            assertEquals(-1, e.getMessage().indexOf('\n'));
        }
    }
}
