package kurma.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;

class ProcFsTest {
    @Test
    void readsAWholeIntegerSysctl() throws Exception {
        int last = Integer.parseInt(ProcFs.read(Path.of("/proc/sys/kernel/cap_last_cap")).trim());
        // Every kernel since 2.6.25 has at least CAP_MAC_ADMIN (33): a single digit means a torn read.
        assertTrue(last >= 33, "cap_last_cap " + last);
    }

    @Test
    void readsSeqFiles() throws Exception {
        String status = ProcFs.read(Path.of("/proc/self/status"));
        assertTrue(status.startsWith("Name:"), status);
        assertEquals(status.lines().count(), ProcFs.read(Path.of("/proc/self/status")).lines().count());
    }
}
