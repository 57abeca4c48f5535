package kurma.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import kurma.sys.LockedFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The record a create keeps while it works (see StateRecord.Creating): how it comes into
 * place, how state reads it, and what delete --force does with one whose create died.
 */
class CreateRecordTest {
    private Path tmp;
    private StateStore store;
    private Process sleeper;

    @BeforeEach
    void setUp() throws IOException {
        tmp = Files.createTempDirectory("kurma-create-record-");
        store = new StateStore(tmp.resolve("root"));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (sleeper != null) {
            sleeper.destroyForcibly();
            sleeper.waitFor();
        }
        try (Stream<Path> s = Files.walk(tmp)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    private static StateRecord record(String id, int creator, long creatorStart, int stage2, long stage2Start,
            List<String> cgroupDirs, List<String> cgroupCreated) {
        return new StateRecord(id, 0, -1, "/b", "/b/rootfs", "2026-01-01T00:00:00Z", Map.of(), cgroupDirs, cgroupCreated,
                List.of(), List.of(), 0, new StateRecord.Creating(creator, creatorStart, stage2, stage2Start));
    }

    private ContainerRuntime runtime() {
        return ContainerRuntime.open(RuntimeOptions.of(store.root()));
    }

    private static int self() {
        return (int) ProcessHandle.current().pid();
    }

    private List<String> rootEntries() throws IOException {
        try (Stream<Path> s = Files.list(store.root())) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theDirectoryComesInPlaceWithItsRecordAndNothingAside() throws Exception {
        StateRecord first = record("c1", self(), ProcStat.startTime(self()), 0, -1, List.of(), List.of());
        try (LockedFile lock = store.create(first)) {
            assertEquals(List.of("c1"), rootEntries());
            assertEquals(first, store.read("c1"));
            assertEquals(List.of("c1"), store.ids());
            // This process creates it: "creating", with no pid yet.
            ContainerState oci = runtime().container("c1").state();
            assertEquals(Status.CREATING, oci.status());
            assertEquals(0, oci.pid());
            KurmaException taken = assertThrows(KurmaException.class, () -> store.create(first));
            assertEquals("container \"c1\" already exists", taken.getMessage());
            assertEquals(List.of("c1"), rootEntries(), "a refused create leaves nothing aside");
        }
    }

    @Test
    void theRecordSurvivesJsonAndTheCreatedStateDropsIt() {
        StateRecord r = record("c2", 10, 20, 30, 40, List.of("/cg/a/c2"), List.of("/cg/a", "/cg/a/c2")).withInit(50, 60);
        StateRecord back = StateRecord.fromJson(kurma.spec.Json.write(r.toJson()));
        assertEquals(r, back);
        assertEquals(new StateRecord.Creating(10, 20, 30, 40), back.creating());
        StateRecord created = StateRecord.fromJson(kurma.spec.Json.write(r.createdState().toJson()));
        assertNull(created.creating());
        assertEquals(50, created.pid());
        assertEquals(60, created.pidStartTime());
    }

    @Test
    void aDeadCreateIsStoppedAndDeleteForceKillsItsStage2AndRemovesItsCgroupsOnly() throws Exception {
        sleeper = new ProcessBuilder("sleep", "60").start();
        int pid = (int) sleeper.pid();
        long start = ProcStat.startTime(pid);
        // Cgroup directories as paths (delete reads cgroup.procs and removes directories): the
        // container's own one named but never made (the create died first), one it made, and a
        // parent it did not make.
        Path parent = Files.createDirectories(tmp.resolve("cg/shared"));
        Path leaf = parent.resolve("c3");
        Path made = Files.createDirectory(tmp.resolve("cg/made"));
        // The creator: this process with another start time, i.e. a dead one whose pid was reused.
        store.create(record("c3", self(), ProcStat.startTime(self()) + 1, pid, start, List.of(leaf.toString()),
                List.of(made.toString(), leaf.toString()))).close();
        Container c3 = runtime().container("c3");
        assertEquals(Status.STOPPED, c3.state().status());
        c3.delete(true);
        assertTrue(sleeper.waitFor(5, TimeUnit.SECONDS), "the recorded stage2 was killed");
        assertFalse(Files.exists(made), "the cgroup the create made is removed");
        assertTrue(Files.isDirectory(parent), "a parent it did not name stays");
        assertEquals(List.of(), rootEntries());
    }

    @Test
    void aRecycledPidIsNeverKilled() throws Exception {
        sleeper = new ProcessBuilder("sleep", "60").start();
        int pid = (int) sleeper.pid();
        store.create(record("c4", self(), ProcStat.startTime(self()) + 1, pid, ProcStat.startTime(pid) + 1, List.of(),
                List.of())).close();
        runtime().container("c4").delete(true);
        assertTrue(sleeper.isAlive(), "another process now has the recorded pid: not ours to kill");
        assertEquals(List.of(), rootEntries());
    }

    @Test
    void deleteForceRemovesOnlyWhatADeadCreateLeftAside() throws Exception {
        Files.createDirectories(store.root());
        Path noLock = Files.createDirectory(store.root().resolve(".c5.123.new"));
        Path unlocked = Files.createDirectory(store.root().resolve(".c5.456.new"));
        Files.writeString(unlocked.resolve(StateStore.LOCK), "");
        Path otherId = Files.createDirectory(store.root().resolve(".c5.1.789.new")); // id "c5.1"'s
        Path held = Files.createDirectory(store.root().resolve(".c5.999.new"));
        try (LockedFile l = LockedFile.exclusive(held.resolve(StateStore.LOCK))) {
            // Held in this JVM here; by another process, tryLock would refuse it just the same.
            runtime().container("c5").delete(true);
        }
        assertFalse(Files.exists(noLock));
        assertFalse(Files.exists(unlocked));
        assertTrue(Files.exists(otherId));
        assertTrue(Files.exists(held), "a create at work keeps its directory");
        assertEquals(List.of(), store.ids(), "directories aside are never listed");
    }
}
