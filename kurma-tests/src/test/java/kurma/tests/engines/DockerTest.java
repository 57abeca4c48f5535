package kurma.tests.engines;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import kurma.tests.support.Result;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Docker (Debian's docker.io 20.10: dockerd, containerd-shim-runc-v2) running containers on the
 * runtime under test, registered twice as README.md says: {@code dockerd --add-runtime} and the
 * {@code runtimes} of a daemon.json, which also makes it the {@code default-runtime}.
 *
 * <p>dockerd gets private --data-root, --exec-root, socket, pid file and daemon.json, our own
 * containerd (see {@link Containerd}), a cgroup parent of its own, and a bridge the test makes
 * for Docker's default network. {@code --iptables=false --ip-forward=false}: the bridge, the
 * veth pair, the address and the route are all made by libnetwork through the OCI prestart
 * hook whatever these say (that is what the bridge check exercises); iptables would only add
 * NAT and isolation rules for traffic leaving the host, which these tests never send, in chains
 * shared by every dockerd on the machine, and dockerd would switch the host's ip_forward on and
 * its FORWARD policy to DROP. Storage: overlay2 (the temp dir is on ext4).
 */
class DockerTest extends DockerCliTest {
    private static final String DOCKERD = "/usr/sbin/dockerd";
    // Debian's client, the daemon's version (a newer client may sit in /usr/local/bin).
    private static final String DOCKER = "/usr/bin/docker";
    /** The runtime under test as registered with --add-runtime. */
    static final String RUNTIME_FLAG = "under-test";
    /** The same runtime as registered in daemon.json. */
    static final String RUNTIME_JSON = "under-test-json";

    private Path socket;
    private Path execRoot;
    private Path clientConfig;
    private Daemon dockerd;
    private Containerd containerd;
    private String bridge;
    private String bridgeIp;
    private String image;

    @Override
    protected String engineName() {
        return "docker";
    }

    @Override
    protected void setUpEngine() throws Exception {
        requireBinary(DOCKERD, "docker.io");
        requireBinary(DOCKER, "docker.io");
        // dockerd creates its plugin directory there whatever its roots are.
        ws.trackHostPath("/run/docker");
        String cgroupParent = "kurma-docker-" + ws.tag;
        ws.removeCgroupTreeAtClose(cgroupParent);
        containerd = Containerd.start(ws);
        makeBridge();

        Path dir = ws.mkdir("docker");
        socket = dir.resolve("docker.sock");
        execRoot = dir.resolve("exec");
        clientConfig = ws.mkdir("docker-client");
        Path daemonJson = dir.resolve("daemon.json");
        // dockerd 20.10 writes a key.json to /etc/docker unless told where (a daemon.json-only key).
        // default-runtime: a plain `docker run` (no --runtime) goes to the runtime under test too.
        Files.writeString(daemonJson, "{\"runtimes\": {\"" + RUNTIME_JSON + "\": {\"path\": \"" + ws.runtime() + "\"}},\n"
                + " \"default-runtime\": \"" + RUNTIME_JSON + "\",\n"
                + " \"deprecated-key-path\": \"" + dir.resolve("key.json") + "\"}\n");
        List<String> argv = List.of(DOCKERD,
                "--config-file", daemonJson.toString(),
                "--data-root", dir.resolve("data").toString(),
                "--exec-root", execRoot.toString(),
                "--pidfile", dir.resolve("dockerd.pid").toString(),
                "-H", "unix://" + socket,
                "--containerd", containerd.socket.toString(),
                "--cgroup-parent", "/" + cgroupParent,
                "--storage-driver", "overlay2",
                "--bridge", bridge,
                "--iptables=false", "--ip-forward=false",
                "--add-runtime", RUNTIME_FLAG + "=" + ws.runtime());
        dockerd = Daemon.start("dockerd", argv, Map.of(), dir.resolve("dockerd.log"),
                () -> Files.exists(socket) && cmd(client("version", "--format", "{{.Server.Version}}")).exit() == 0);
        ws.onClose("stop dockerd (pid " + dockerd.pid() + ")", () -> {
            String problem = dockerd.stop();
            if (problem != null) throw new AssertionError(problem);
        });
        ws.onClose("remove the containers and the image", this::removeEverything);

        image = "kurma-test/busybox:" + ws.tag;
        ok(engine("import", "--change", "CMD [\"sh\"]", BusyboxImage.rootfsTar(ws).toString(), image));
    }

    /**
     * A bridge of this run's own for Docker's default network (dockerd --bridge), so that runs
     * in other worktrees, each with its own dockerd, never share docker0. Its subnet is in
     * 198.18.0.0/15, the range set aside for tests (RFC 2544); traffic never leaves the host.
     */
    private void makeBridge() throws Exception {
        bridge = "ktbr" + ws.tag; // 12 characters: a link name has at most 15
        String routes = ws.run(Duration.ofSeconds(30), "ip", "-4", "route", "show").stdout();
        int third = Integer.parseInt(ws.tag.substring(0, 2), 16);
        for (int i = 0; i < 256 && routes.contains("198.18." + third + "."); i++) third = (third + 1) % 256;
        bridgeIp = "198.18." + third + ".1";
        Result add = ws.run(Duration.ofSeconds(30), "ip", "link", "add", "name", bridge, "type", "bridge");
        if (add.exit() != 0) fail("cannot make a bridge for Docker\n" + add);
        ws.onClose("delete bridge " + bridge, () -> {
            Result r = ws.run(Duration.ofSeconds(30), "ip", "link", "delete", bridge);
            if (r.exit() != 0) throw new AssertionError(r.toString());
        });
        for (Result r : List.of(
                ws.run(Duration.ofSeconds(30), "ip", "addr", "add", bridgeIp + "/24", "dev", bridge),
                ws.run(Duration.ofSeconds(30), "ip", "link", "set", bridge, "up"))) {
            if (r.exit() != 0) fail("cannot set up bridge " + bridge + "\n" + r);
        }
    }

    private List<String> client(String... args) {
        List<String> argv = new ArrayList<>(cli());
        argv.addAll(List.of(args));
        return argv;
    }

    @Override
    protected List<String> cli() {
        return List.of(DOCKER, "--config", clientConfig.toString(), "-H", "unix://" + socket);
    }

    @Override
    protected List<String> runOptions() {
        return List.of("--runtime", RUNTIME_FLAG);
    }

    @Override
    protected String image() {
        return image;
    }

    @Override
    protected Path runtimeRoot() {
        // docker 20.10 gives every runc-v2-shim runtime this --root, whatever its name.
        return execRoot.resolve("runtime-runc/moby");
    }

    @Override
    protected boolean topShowsHostPids() {
        return true;
    }

    @Override
    protected String daemonLogs() {
        return dockerd == null ? "" : dockerd.logTail(25) + "\n" + containerd.daemon.logTail(10);
    }

    // ---- Docker-only checks

    /** The runtime registered in daemon.json's "runtimes" works as well as the --add-runtime one. */
    @Test
    void daemonJsonRuntime() throws Exception {
        Result r = ok(engine("run", "--rm", "--runtime", RUNTIME_JSON, image, "echo", "via daemon.json"));
        assertLines(r, "via daemon.json");
        assertTrue(callsThisTest().contains(" create "), "the daemon.json runtime was not the one called", r);
    }

    /** daemon.json's default-runtime: a `docker run` without --runtime runs on the runtime under test. */
    @Test
    void daemonJsonDefaultRuntime() throws Exception {
        Result r = ok(engine("run", "--rm", image, "echo", "by default"));
        assertLines(r, "by default");
        assertTrue(callsThisTest().contains(" create "), "the default runtime was not the one called", r);
    }

    /**
     * Docker's default bridge network: libnetwork's prestart hook (dockerd's libnetwork-setkey)
     * moves a veth into the container, which gets eth0 with an address on the bridge's subnet
     * and reaches the host's end of the bridge.
     */
    @Test
    void defaultBridgeNetwork() throws Exception {
        String subnet = bridgeIp.substring(0, bridgeIp.lastIndexOf('.') + 1);
        Result r = ok(engine("run", "--rm", "--runtime", RUNTIME_FLAG, image, "sh", "-c",
                "ls /sys/class/net; ip -4 -o addr show dev eth0; ping -c 1 -W 10 " + bridgeIp + " >/dev/null && echo reached"));
        List<String> lines = r.lines();
        assertTrue(lines.size() == 4 && lines.get(0).equals("eth0") && lines.get(1).equals("lo")
                        && lines.get(2).contains("inet " + subnet) && lines.get(3).equals("reached"),
                "expected eth0 and lo, an address in " + subnet + "0/24 on eth0, and " + bridgeIp + " reachable", r);
    }
}
