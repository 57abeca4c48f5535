package kurma.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class ProgressTest {
    private static final Descriptor BLOB = new Descriptor(MediaTypes.OCI_LAYER_GZIP, Digest.sha256("x"), 4 << 20);

    @Test
    void plainLinesSayWhatHappensPerBlob() {
        List<String> lines = new ArrayList<>();
        Progress p = Progress.lines(lines::add);
        p.started(BLOB, 0);
        p.advanced(BLOB, 1000);
        p.retrying(BLOB, 1, "connection reset");
        p.started(BLOB, 1000);
        p.finished(BLOB, false);
        String id = BLOB.digest().shortHex();
        assertEquals(List.of(id + ": fetching 4194304 bytes", id + ": retry 1 after: connection reset",
                id + ": resuming at 1000 of 4194304 bytes", id + ": done"), lines);
    }

    @Test
    void barsAreRedrawnInPlace() {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        TerminalProgress p = new TerminalProgress(new PrintStream(bos, true, StandardCharsets.UTF_8));
        p.started(BLOB, 0);
        p.finished(BLOB, false);
        p.note("pulled");
        String s = bos.toString(StandardCharsets.UTF_8);
        assertTrue(s.contains("[" + "=".repeat(30) + "] 4.0 MiB / 4.0 MiB done"), s);
        assertTrue(s.contains("\033[1F"), "moves back up to redraw: " + s);
        assertTrue(s.contains("pulled\n"), s);
        assertEquals("1.5 KiB", TerminalProgress.human(1536));
    }
}
