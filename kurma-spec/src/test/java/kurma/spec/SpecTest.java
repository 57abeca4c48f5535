package kurma.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class SpecTest {
    @Test
    void parsesTheDefaultSpec() {
        Spec s = Spec.parse(DefaultSpec.JSON);
        assertEquals("rootfs", s.root().path());
        assertTrue(s.root().readonly());
        assertEquals(List.of("sh"), s.process().args());
        assertEquals("/", s.process().cwd());
        assertEquals(0, s.process().user().uid());
        assertEquals(List.of("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"), s.process().capabilities().bounding());
        assertNull(s.process().capabilities().inheritable());
        assertEquals(1024, s.process().rlimits().getFirst().hard());
        assertEquals(7, s.mounts().size());
        assertEquals("/dev/pts", s.mounts().get(2).destination());
        assertTrue(s.mounts().get(2).options().contains("newinstance"));
        assertEquals("kurma", s.hostname());
        assertEquals(6, s.linux().namespaces().size());
        assertTrue(s.linux().maskedPaths().contains("/proc/kcore"));
    }

    @Test
    void readsEngineConfigs() throws Exception {
        // what docker, podman and containerd actually send (shared/reference/client-calls)
        for (String engine : List.of("docker", "podman", "containerd")) {
            java.nio.file.Path p = java.nio.file.Path.of("../../shared/reference/client-calls", engine, "config.json");
            if (!java.nio.file.Files.exists(p)) continue;
            Spec s = Spec.parse(java.nio.file.Files.readString(p));
            assertTrue(s.process().args().size() > 0, engine);
            assertTrue(s.linux().namespace("mount") != null, engine);
        }
    }

    @Test
    void errorsNameTheField() {
        String base = "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},\"process\":%s}";
        assertMessage("process.args: must name the program to run",
                String.format(base, "{\"cwd\":\"/\",\"args\":[]}"));
        assertMessage("process.args[1]: expected a string",
                String.format(base, "{\"cwd\":\"/\",\"args\":[\"a\",2]}"));
        assertMessage("process.cwd: must be an absolute path, got \"tmp\"",
                String.format(base, "{\"cwd\":\"tmp\",\"args\":[\"a\"]}"));
        assertMessage("process.user.uid: expected an integer",
                String.format(base, "{\"cwd\":\"/\",\"args\":[\"a\"],\"user\":{\"uid\":\"0\"}}"));
        assertMessage("root: is required", "{\"ociVersion\":\"1.2.0\"}");
        assertMessage("ociVersion: is required", "{}");
        assertMessage("linux.namespaces: pid is listed twice",
                "{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}");
    }

    private static void assertMessage(String expected, String json) {
        ConfigException e = assertThrows(ConfigException.class, () -> Spec.parse(json));
        assertEquals(expected, e.getMessage());
    }
}
