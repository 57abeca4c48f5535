package kurma.tests.engines;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import kurma.tests.support.Result;
import kurma.tests.support.TestConfig;

/**
 * Podman (Debian's podman 4.3 with conmon 2.1) running containers on the runtime under test,
 * given as README.md says: {@code podman --runtime PATH}, and as the default runtime of a
 * containers.conf.
 *
 * <p>Podman has no daemon: every command reads CONTAINERS_CONF and CONTAINERS_STORAGE_CONF,
 * files of ours (so /etc/containers plays no part) that put its storage, state, locks, events
 * and network configs in the workspace, with the cgroupfs manager (no systemd here) and
 * default ulimits this host allows: Podman's defaults exceed the hard limits here, and the
 * runtime cannot raise them without CAP_SYS_RESOURCE, which the bounding set lacks.
 *
 * <p>Networking: every container runs with {@code --network none}. Podman's default network
 * (netavark) would add iptables rules and turn on ip_forward for the whole host.
 *
 * <p>The runtime keeps its state in its default --root (/run/kurma, /run/runc): podman 4.3
 * does not pass a --runtime-flag root=... to every call (its delete goes without it).
 */
class PodmanTest extends DockerCliTest {
    private static final String PODMAN = "/usr/bin/podman";
    static final String RUNTIME_NAME = "under-test";

    private Map<String, String> env;
    private String cgroupParent;
    private String image;

    @Override
    protected String engineName() {
        return "podman";
    }

    @Override
    protected void setUpEngine() throws Exception {
        requireBinary(PODMAN, "podman");
        requireBinary("/usr/bin/conmon", "conmon");
        // Fixed paths podman and containers/image use whatever the configuration says: the
        // blob-info cache, the short-name alias lock, netavark's run dir, and the runtime's
        // default state root.
        ws.trackHostPath("/var/lib/containers", f -> f.toString().equals("cache/blob-info-cache-v1.boltdb"));
        ws.trackHostPath("/var/cache/containers", f -> f.toString().equals("short-name-aliases.conf.lock"));
        ws.trackHostPath("/run/containers");
        // kurma caches compiled seccomp programs there.
        ws.trackHostPath(defaultRuntimeRoot().toString(), f -> f.startsWith(".seccomp"));
        cgroupParent = "kurma-podman-" + ws.tag;
        ws.removeCgroupTreeAtClose(cgroupParent);

        Path dir = ws.mkdir("podman");
        Path containersConf = dir.resolve("containers.conf");
        Path storageConf = dir.resolve("storage.conf");
        Files.writeString(containersConf, String.join("\n",
                "[containers]",
                "default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]",
                "[engine]",
                "cgroup_manager = \"cgroupfs\"",
                "events_logger = \"file\"",
                "events_logfile_path = \"" + dir.resolve("events.log") + "\"",
                "tmp_dir = \"" + dir.resolve("tmp") + "\"",
                "volume_path = \"" + dir.resolve("volumes") + "\"",
                // File locks in tmp_dir instead of the host-wide /dev/shm/libpod_lock segment.
                "lock_type = \"file\"",
                "runtime = \"" + RUNTIME_NAME + "\"",
                "[engine.runtimes]",
                RUNTIME_NAME + " = [\"" + ws.runtime() + "\"]",
                "[network]",
                "network_config_dir = \"" + dir.resolve("networks") + "\"",
                ""));
        Files.writeString(storageConf, String.join("\n",
                "[storage]",
                "driver = \"overlay\"",
                "graphroot = \"" + dir.resolve("storage") + "\"",
                "runroot = \"" + dir.resolve("run") + "\"",
                ""));
        env = Map.of("CONTAINERS_CONF", containersConf.toString(), "CONTAINERS_STORAGE_CONF", storageConf.toString());

        ws.onClose("remove the containers and the image", this::removeEverything);
        // A full name, so podman needs no short-name resolution.
        image = "localhost/kurma-test/busybox:" + ws.tag;
        ok(engine("import", "--change", "CMD [\"sh\"]", BusyboxImage.rootfsTar(ws).toString(), image));
    }

    private static Path defaultRuntimeRoot() {
        return Path.of("/run", TestConfig.isKurma() ? "kurma" : TestConfig.runtime().getFileName().toString());
    }

    @Override
    protected Map<String, String> engineEnv() {
        return env;
    }

    @Override
    protected List<String> cli() {
        return List.of(PODMAN, "--runtime", ws.runtime().toString());
    }

    @Override
    protected List<String> runOptions() {
        return List.of("--network", "none", "--cgroup-parent", "/" + cgroupParent);
    }

    @Override
    protected String image() {
        return image;
    }

    @Override
    protected Path runtimeRoot() {
        return null; // the runtime's default
    }

    @Override
    protected boolean topShowsHostPids() {
        return false;
    }

    @Override
    protected String daemonLogs() {
        return ""; // no daemon: conmon's errors come back in podman's stderr
    }

    // ---- Podman-only checks

    /** The runtime named as the default in containers.conf is used when --runtime is not given. */
    @Test
    void containersConfRuntime() throws Exception {
        List<String> argv = new ArrayList<>(List.of(PODMAN, "run", "--rm"));
        argv.addAll(runOptions());
        argv.addAll(List.of(image, "echo", "via containers.conf"));
        Result r = ok(cmd(argv));
        assertLines(r, "via containers.conf");
        assertTrue(callsThisTest().contains(" create "), "the containers.conf runtime was not the one called", r);
    }

    /** The default ulimits of our containers.conf reach the container (the runtime sets rlimits). */
    @Test
    void defaultUlimits() throws Exception {
        Result r = ok(run(List.of(), "sh", "-c", "ulimit -n; ulimit -u"));
        assertLines(r, "20000", "32768");
    }

    /**
     * With --read-only, Podman mounts tmpfs on /tmp, /run and /var/tmp with runc's "tmpcopyup"
     * extension: writable, holding a copy of what the image has there (the test image has a
     * file in /var/tmp).
     */
    @Test
    void readOnlyKeepsTmpWritable() throws Exception {
        Result r = ok(run(List.of("--read-only"), "sh", "-c",
                "for d in /tmp /run /var/tmp; do if touch $d/probe 2>/tmp/touch.err; then echo $d writable; else echo $d read-only; fi; done"));
        assertLines(r, "/tmp writable", "/run writable", "/var/tmp writable");
    }

    @Test
    void readOnlyTmpfsHoldsTheImagesFiles() throws Exception {
        Result r = ok(run(List.of("--read-only"), "sh", "-c", "cat /var/tmp/" + BusyboxImage.IMAGE_FILE + " || echo missing"));
        assertLines(r, BusyboxImage.IMAGE_FILE_CONTENT);
    }
}
