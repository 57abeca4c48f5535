package kurma.runtime.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class MountOptionsTest {
    @Test
    void tmpcopyupIsForTheRuntimeNotTheKernel() {
        // Podman's options for the tmpfs of --read-only, as it writes them into config.json:
        // passed on as tmpfs data, "tmpcopyup" made the mount fail with EINVAL.
        MountOptions o = MountOptions.parse("tmpfs", List.of("rw", "rprivate", "nosuid", "nodev", "tmpcopyup"));
        assertTrue(o.copyUp());
        assertEquals("", o.data());
        assertEquals(MountOptions.MS_NOSUID | MountOptions.MS_NODEV, o.flags());
        assertEquals(MountOptions.MS_PRIVATE | MountOptions.MS_REC, o.propagation());
    }

    @Test
    void withoutTmpcopyupNothingIsCopied() {
        MountOptions o = MountOptions.parse("tmpfs", List.of("nosuid", "size=1m", "mode=1777"));
        assertFalse(o.copyUp());
        assertEquals("size=1m,mode=1777", o.data());
    }
}
