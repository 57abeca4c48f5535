package kurma.tests;

import kurma.tests.support.ContainerTest;
import kurma.tests.support.Json;
import kurma.tests.support.Result;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Commands that start no container: spec and features. */
class CliTest extends ContainerTest {

    @Test
    void specWritesAUsableDefaultConfig() throws Exception {
        Path dir = env.newDir("spec");
        env.rt("spec", "--bundle", dir.toString()).ok();
        Map<String, Object> cfg = Json.parseObject(Files.readString(dir.resolve("config.json")));
        assertTrue(cfg.get("ociVersion") instanceof String v && v.startsWith("1."), () -> "ociVersion in " + cfg);
        Map<?, ?> process = (Map<?, ?>) cfg.get("process");
        assertTrue(process.get("args") instanceof List<?> a && !a.isEmpty(), () -> "process.args in " + cfg);
        assertEquals("rootfs", ((Map<?, ?>) cfg.get("root")).get("path"));
        List<?> ns = (List<?>) ((Map<?, ?>) cfg.get("linux")).get("namespaces");
        for (String t : List.of("pid", "mount", "network", "ipc", "uts")) {
            assertTrue(ns.stream().anyMatch(n -> t.equals(((Map<?, ?>) n).get("type"))), () -> "namespace " + t + " in " + ns);
        }
        List<?> mounts = (List<?>) cfg.get("mounts");
        assertTrue(mounts.stream().anyMatch(m -> "/proc".equals(((Map<?, ?>) m).get("destination"))), "a /proc mount");
    }

    @Test
    void featuresPrintsJson() throws Exception {
        Result r = env.rt("features").ok();
        Map<String, Object> f = Json.parseObject(r.out());
        assertTrue(f.get("ociVersionMin") instanceof String, () -> "ociVersionMin in\n" + r);
        assertTrue(f.get("ociVersionMax") instanceof String, () -> "ociVersionMax in\n" + r);
    }
}
