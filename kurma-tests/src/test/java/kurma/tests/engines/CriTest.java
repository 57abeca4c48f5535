package kurma.tests.engines;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import kurma.tests.support.Cgroups;
import kurma.tests.support.Json;
import kurma.tests.support.Proc;
import kurma.tests.support.Result;
import kurma.tests.support.SafeDelete;
import kurma.tests.support.TestConfig;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Kubernetes' way in: containerd's CRI plugin (built into Debian's containerd 1.6) driven by
 * crictl as a kubelet would drive it, every pod on the runtime handler README.md declares
 * ({@value #HANDLER}: the runc v2 shim with {@code BinaryName} = the runtime under test, here
 * through the workspace's tracing wrapper).
 *
 * <p>containerd is our own (see {@link Containerd#startWithCri}); the pods' network namespaces
 * are pinned in its state dir. The pause image is a static C program built here, the
 * busybox image the other engine tests' one; both are imported with ctr, nothing is pulled.
 * The pods' network is a CNI bridge conflist of this run's own (bridge {@code ktcriXXXXXXXX},
 * a 198.19.N.0/24 subnet, host-local IPAM with its data dir in the workspace, loopback).
 * Neither {@code ipMasq} nor {@code isGateway}: the first would add iptables rules, the second
 * switch the host's ip_forward on; the test gives the bridge the host's address itself, after
 * the first pod made it. libcni keeps its cache in /var/lib/cni whatever the config says: the
 * test checks that CNI DEL emptied it of our pods and removes what it created there.
 *
 * <p>crictl is the prebuilt v1.26.1 at {@code ../shared/tools/crictl} beside the checkout, or
 * {@code $KURMA_CRICTL}; without it the class is skipped. The pod and container configs are
 * JSON files written by the test (enums as numbers: crictl decodes them into the CRI's Go types).
 */
class CriTest extends EngineTest {
    /** The runtime handler's name in containerd's config, as in README.md. */
    static final String HANDLER = "kurma";
    /** The containerd namespace the CRI plugin keeps everything in; also the shim's subdir of --root. */
    private static final String K8S = "k8s.io";
    private static final String CTR = "/usr/bin/ctr";
    private static final String HOST_BUSYBOX = "/bin/busybox";
    /** runtime.v1.MountPropagation.PROPAGATION_BIDIRECTIONAL. */
    private static final int PROPAGATION_BIDIRECTIONAL = 2;

    /**
     * The pod sandbox's process: it waits, and exits on SIGTERM or SIGINT (as pid 1 of the pod's
     * pid namespace a signal without a handler would be ignored).
     */
    private static final String PAUSE_C = """
            #include <signal.h>
            #include <unistd.h>
            static void quit(int sig) { (void)sig; _exit(0); }
            int main(void) {
                signal(SIGTERM, quit);
                signal(SIGINT, quit);
                for (;;) pause();
            }
            """;

    private Path crictl;
    private Path crictlConfig;
    private Containerd containerd;
    private Path runtimeRoot;
    private Path configs;
    private Path podLogs;
    private Path ipamDir;
    private String network;
    private String bridge;
    /** "198.19.N." */
    private String subnet;
    private String gateway;
    private String cgroupParent;
    private String image;
    /** The pod most checks run their containers in. */
    private Pod pod;
    /** Every sandbox and container id seen, to check at the end that the runtime forgot them all. */
    private final Set<String> sandboxIds = new LinkedHashSet<>();
    private final Set<String> containerIds = new LinkedHashSet<>();
    /** Containers the current test made, removed after it. */
    private final List<String> testContainers = new ArrayList<>();
    private int seq;

    /** A pod: its sandbox id and the config file it was made from (crictl create needs it again). */
    private record Pod(String id, Path config) {}

    /** A container run to its end: its id, exit code and {@code crictl logs}. */
    private record Ran(String id, int exitCode, Result logs) {}

    @Override
    protected String engineName() {
        return "cri";
    }

    @Override
    protected void setUpEngine() throws Exception {
        crictl = findCrictl();
        if (crictl == null) {
            Proc.log("crictl not found at " + crictlCandidates() + ": every check of this class is skipped");
            return;
        }
        requireBinary("/usr/bin/umoci", "umoci");
        requireBinary("/usr/bin/gcc", "gcc");
        requireBinary("/usr/lib/cni/bridge", "containernetworking-plugins");
        requireBinary(HOST_BUSYBOX, "busybox-static");
        network = "kurma-cri-" + ws.tag;
        bridge = "ktcri" + ws.tag; // 13 characters: a link name has at most 15
        cgroupParent = "kurma-cri-" + ws.tag;
        ws.removeCgroupTreeAtClose(cgroupParent);
        // libcni's cache of each attachment: results/NETWORK-SANDBOX-eth0, results/cni-loopback-SANDBOX-lo.
        ws.trackHostPath("/var/lib/cni", f -> {
            String name = f.getFileName().toString();
            return name.startsWith(network + "-")
                    || sandboxIds.stream().anyMatch(id -> name.equals("cni-loopback-" + id + "-lo"));
        });
        // Runs after containerd stopped (cleanups run in reverse): the bridge plugin made it, CNI DEL leaves it.
        ws.onClose("delete bridge " + bridge, () -> {
            if (ws.run(Duration.ofSeconds(30), "ip", "link", "show", "dev", bridge).exit() != 0) return;
            Result r = ws.run(Duration.ofSeconds(30), "ip", "link", "delete", bridge);
            if (r.exit() != 0) throw new AssertionError(r.toString());
        });
        Path cniConf = writeNetwork();
        runtimeRoot = ws.mkdir("runtime-root");
        configs = ws.mkdir("cri-configs");
        podLogs = ws.mkdir("pod-logs");
        crictlConfig = configs.resolve("crictl.yaml");
        String pauseImage = "localhost/kurma-test/pause:" + ws.tag;
        containerd = Containerd.startWithCri(ws,
                new Containerd.Cri(pauseImage, HANDLER, ws.runtime(), runtimeRoot, cniConf));
        // Besides -r and -i on every call: crictl reads /etc/crictl.yaml unless given a file.
        Files.writeString(crictlConfig, "runtime-endpoint: unix://" + containerd.socket + "\nimage-endpoint: unix://"
                + containerd.socket + "\ntimeout: 60\ndebug: false\npull-image-on-create: false\n");
        ws.onClose("remove every pod and check what CNI DEL and the runtime left", this::removeEverything);

        ok(ctr("images", "import", "--base-name", "localhost/kurma-test/pause", pauseArchive().toString()));
        ok(ctr("images", "import", "--base-name", "localhost/kurma-test/busybox",
                BusyboxImage.ociArchive(ws, ws.tag).toString()));
        image = "localhost/kurma-test/busybox:" + ws.tag;
        // The CRI plugin learns of imported images from containerd's events, a moment later.
        for (String ref : List.of(pauseImage, image)) {
            if (!eventually(Duration.ofSeconds(30), () -> crictl("inspecti", ref).exit() == 0)) {
                fail("the CRI plugin does not see the imported image " + ref + "\n" + explain(crictl("images")));
            }
        }

        pod = runPod("shared");
        Result link = ws.run(Duration.ofSeconds(30), "ip", "link", "show", "dev", bridge);
        if (link.exit() != 0) fail("the bridge plugin did not make " + bridge + "\n" + link);
        Result addr = ws.run(Duration.ofSeconds(30), "ip", "addr", "add", gateway + "/24", "dev", bridge);
        if (addr.exit() != 0) fail("cannot give " + bridge + " the host's address " + gateway + "\n" + addr);
    }

    /** crictl from $KURMA_CRICTL, else ../shared/tools/crictl beside the checkout; null when neither is there. */
    private static Path findCrictl() {
        for (Path p : crictlCandidates()) {
            if (Files.isRegularFile(p) && Files.isExecutable(p)) return p;
        }
        return null;
    }

    private static List<Path> crictlCandidates() {
        List<Path> candidates = new ArrayList<>();
        String env = System.getenv("KURMA_CRICTL");
        if (env != null && !env.isBlank()) candidates.add(Paths.get(env));
        candidates.add(TestConfig.repoRoot().resolve("../shared/tools/crictl").normalize());
        return candidates;
    }

    /**
     * Without crictl every check is skipped, each saying why (an abort in {@code @BeforeAll}
     * would make surefire report no test at all, and no reason).
     */
    @BeforeEach
    final void requireCrictl() {
        Assumptions.assumeTrue(crictl != null, "crictl (v1.26.1, from kubernetes-sigs/cri-tools; not packaged by Debian 12)"
                + " not found at " + crictlCandidates() + ": put it in ../shared/tools/ beside the checkout or name it in"
                + " KURMA_CRICTL");
    }

    /**
     * The CNI conflist: bridge + host-local, then loopback. The subnet is in 198.19.0.0/16 (the
     * half of RFC 2544's test range Docker's test does not use), its third byte from the run's
     * tag, moved on while the host already routes it.
     */
    private Path writeNetwork() throws Exception {
        String routes = ws.run(Duration.ofSeconds(30), "ip", "-4", "route", "show").stdout();
        int third = Integer.parseInt(ws.tag.substring(0, 2), 16);
        for (int i = 0; i < 256 && routes.contains("198.19." + third + "."); i++) third = (third + 1) % 256;
        subnet = "198.19." + third + ".";
        gateway = subnet + "1";
        ipamDir = ws.mkdir("cni-ipam");
        Path conf = ws.mkdir("cni-conf");
        Map<String, Object> ipam = new LinkedHashMap<>();
        ipam.put("type", "host-local");
        ipam.put("dataDir", ipamDir.toString());
        ipam.put("ranges", List.of(List.of(Map.of("subnet", subnet + "0/24", "gateway", gateway))));
        Map<String, Object> bridgePlugin = new LinkedHashMap<>();
        bridgePlugin.put("type", "bridge");
        bridgePlugin.put("bridge", bridge);
        bridgePlugin.put("isGateway", false);
        bridgePlugin.put("ipMasq", false);
        bridgePlugin.put("ipam", ipam);
        Map<String, Object> list = new LinkedHashMap<>();
        list.put("cniVersion", "1.0.0");
        list.put("name", network);
        list.put("plugins", List.of(bridgePlugin, Map.of("type", "loopback")));
        Files.writeString(conf.resolve("10-" + network + ".conflist"), Json.write(list));
        return conf;
    }

    /** The pause image's OCI archive: {@link #PAUSE_C} built static, alone in the rootfs. */
    private Path pauseArchive() throws Exception {
        Path src = ws.dir().resolve("pause.c");
        Files.writeString(src, PAUSE_C);
        Path rootfs = ws.mkdir("pause-rootfs");
        Result cc = ws.run(Duration.ofMinutes(2), "gcc", "-static", "-Os", "-s", "-o", rootfs.resolve("pause").toString(),
                src.toString());
        if (cc.exit() != 0) fail("cannot build the pause program (gcc -static needs libc6-dev)\n" + cc);
        return BusyboxImage.ociArchive(ws, "pause", rootfs, ws.tag, "--config.entrypoint", "/pause");
    }

    @Override
    protected String daemonLogs() {
        return containerd == null ? "" : containerd.daemon.logTail(30);
    }

    // ---- running things

    private Result ctr(String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(CTR, "--address", containerd.socket.toString(), "--namespace", K8S));
        argv.addAll(Arrays.asList(args));
        return cmd(argv);
    }

    /** crictl with our config and endpoints; 60 s per call (crictl's default of 2 s is less than a pod stop may take). */
    private Result crictl(String... args) throws IOException, InterruptedException {
        String endpoint = "unix://" + containerd.socket;
        List<String> argv = new ArrayList<>(List.of(crictl.toString(), "--config", crictlConfig.toString(),
                "-r", endpoint, "-i", endpoint, "--timeout", "60s"));
        argv.addAll(Arrays.asList(args));
        return cmd(argv);
    }

    private Map<String, Object> json(Result r) {
        ok(r);
        try {
            return Json.parseObject(r.stdout());
        } catch (IllegalArgumentException e) {
            fail("crictl did not print JSON: " + e.getMessage() + "\n" + explain(r));
            return null;
        }
    }

    /** A value inside parsed JSON, by keys; null when a key is missing. */
    @SuppressWarnings("unchecked")
    private static Object at(Object v, String... keys) {
        for (String k : keys) {
            if (!(v instanceof Map)) return null;
            v = ((Map<String, Object>) v).get(k);
        }
        return v;
    }

    /** A JSON number, or a number in a string (crictl prints uint64 values as strings); -1 otherwise. */
    private static long number(Object v) {
        if (v instanceof Number n) return n.longValue();
        try {
            return v instanceof String str ? Long.parseLong(str) : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    /** {@code crictl runp --runtime kurma} of a new pod, as a RuntimeClass with that handler makes the kubelet do. */
    private Pod runPod(String name) throws Exception {
        Path logs = Files.createDirectories(podLogs.resolve(name));
        Map<String, Object> config = map(
                "metadata", map("name", name, "namespace", "kurma-test", "uid", name + "-" + ws.tag, "attempt", 0),
                "hostname", name,
                "log_directory", logs.toString(),
                "linux", map("cgroup_parent", "/" + cgroupParent));
        Path file = configs.resolve("pod-" + name + ".json");
        Files.writeString(file, Json.write(config));
        Result r = ok(crictl("runp", "--runtime", HANDLER, file.toString()));
        String id = r.out();
        sandboxIds.add(id);
        return new Pod(id, file);
    }

    /**
     * {@code crictl create} of a busybox container in {@code p} running {@code sh -c script},
     * with {@code linux.security_context} and {@code mounts} as given (null: none).
     */
    private String create(Pod p, String script, Map<String, Object> securityContext, List<Object> mounts) throws Exception {
        String name = "c" + (++seq);
        Map<String, Object> config = map(
                "metadata", map("name", name, "attempt", 0),
                "image", map("image", image),
                "command", List.of("sh", "-c", script),
                "log_path", name + ".log",
                "linux", securityContext == null ? map() : map("security_context", securityContext));
        if (mounts != null) config.put("mounts", mounts);
        Path file = configs.resolve("container-" + name + ".json");
        Files.writeString(file, Json.write(config));
        String id = ok(crictl("create", p.id(), file.toString(), p.config().toString())).out();
        containerIds.add(id);
        testContainers.add(id);
        return id;
    }

    private String startContainer(String script, Map<String, Object> securityContext, List<Object> mounts) throws Exception {
        String id = create(pod, script, securityContext, mounts);
        ok(crictl("start", id));
        return id;
    }

    private String state(String id) throws Exception {
        return String.valueOf(at(json(crictl("inspect", "-o", "json", id)), "status", "state"));
    }

    private void expectState(String id, String want) throws Exception {
        if (!eventually(Duration.ofSeconds(30), () -> want.equals(state(id)))) {
            fail("container " + id + " is not " + want + "\n" + explain(crictl("inspect", id)));
        }
    }

    /** A container run in the shared pod until it exits. */
    private Ran runToExit(String script, Map<String, Object> securityContext, List<Object> mounts) throws Exception {
        String id = startContainer(script, securityContext, mounts);
        expectState(id, "CONTAINER_EXITED");
        long code = number(at(json(crictl("inspect", "-o", "json", id)), "status", "exitCode"));
        return new Ran(id, (int) code, crictl("logs", id));
    }

    private Ran runToExit(String script, Map<String, Object> securityContext) throws Exception {
        return runToExit(script, securityContext, null);
    }

    private static long pid(Map<String, Object> inspect) {
        return number(at(inspect, "info", "pid"));
    }

    @AfterEach
    final void removeTestContainers() throws IOException, InterruptedException {
        for (String id : testContainers) crictl("rm", "--force", id);
        testContainers.clear();
    }

    /**
     * At the end: every container and pod removed (a pod's stop is its CNI DEL), then nothing of
     * ours may be left in libcni's cache, in host-local's data dir or on the bridge, and the
     * runtime must know none of the containers and sandboxes any more.
     */
    private void removeEverything() throws Exception {
        List<String> problems = new ArrayList<>();
        for (String id : crictl("ps", "--all", "--quiet").lines()) {
            Result r = crictl("rm", "--force", id);
            if (r.exit() != 0) problems.add("crictl rm --force " + id + ": " + r.stderr().strip());
        }
        for (String id : crictl("pods", "--quiet").lines()) {
            for (String verb : List.of("stopp", "rmp")) {
                Result r = crictl(verb, id);
                if (r.exit() != 0) problems.add("crictl " + verb + " " + id + ": " + r.stderr().strip());
            }
        }
        List<String> left = crictl("pods", "--quiet").lines();
        if (!left.isEmpty()) problems.add("pods left: " + left);
        problems.addAll(cniLeftovers());
        for (String id : sandboxIds) if (runtimeKnows(runtimeRoot.resolve(K8S), id)) problems.add("the runtime still knows sandbox " + id);
        for (String id : containerIds) if (runtimeKnows(runtimeRoot.resolve(K8S), id)) problems.add("the runtime still knows container " + id);
        if (!problems.isEmpty()) throw new AssertionError(String.join("; ", problems));
    }

    /** What CNI ADDs of the pods left behind now: cache files, leased addresses, veths on the bridge. */
    private List<String> cniLeftovers() throws Exception {
        List<String> found = new ArrayList<>();
        found.addAll(cacheFiles(null));
        found.addAll(leases());
        found.addAll(bridgePorts());
        return found;
    }

    /** libcni's cache files of our network, of one sandbox (or of any, when null). */
    private List<String> cacheFiles(String sandbox) throws IOException {
        Path dir = Paths.get("/var/lib/cni/results");
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(f -> f.getFileName().toString())
                    .filter(n -> sandbox == null
                            ? n.startsWith(network + "-") || sandboxIds.stream().anyMatch(n::contains)
                            : n.contains(sandbox))
                    .map(n -> "libcni cache " + dir.resolve(n)).toList();
        }
    }

    /** Addresses host-local has leased (one file named after each address). */
    private List<String> leases() throws IOException {
        Path dir = ipamDir.resolve(network);
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(f -> f.getFileName().toString()).filter(n -> n.startsWith(subnet))
                    .map(n -> "host-local lease " + n).toList();
        }
    }

    /** The veths attached to the bridge. */
    private List<String> bridgePorts() throws Exception {
        Result r = ws.run(Duration.ofSeconds(30), "ip", "-o", "link", "show", "master", bridge);
        return r.exit() != 0 ? List.of() : r.lines().stream().map(l -> "veth on " + bridge + ": " + l).toList();
    }

    /** CapXxx: of /proc/self/status as printed by {@code grep Cap /proc/self/status}. */
    private static long capSet(Result r, String field) {
        for (String l : r.lines()) {
            if (l.startsWith(field + ":")) return Long.parseUnsignedLong(l.substring(field.length() + 1).strip(), 16);
        }
        return -1;
    }

    // ---- the checks

    /**
     * runp: the pod's sandbox ran on the runtime under test, and the CNI bridge gave it eth0
     * with an address in our subnet; a container of the pod sees that network (eth0 and lo,
     * the host reachable) and the host reaches the pod.
     */
    @Test
    void podNetwork() throws Exception {
        Map<String, Object> p = json(crictl("inspectp", "-o", "json", pod.id()));
        Object ip = at(p, "status", "network", "ip");
        assertTrue("SANDBOX_READY".equals(at(p, "status", "state")) && HANDLER.equals(at(p, "status", "runtimeHandler"))
                        && ip instanceof String s && s.startsWith(subnet),
                "the pod is not ready on handler " + HANDLER + " with an address in " + subnet + "0/24",
                crictl("inspectp", pod.id()));
        assertTrue(ws.traceSince(0).lines().anyMatch(l -> l.contains(" create ") && l.contains(pod.id())),
                "the pod's sandbox was not created by the runtime under test", crictl("inspectp", pod.id()));
        Ran r = runToExit("ls /sys/class/net; ip -4 -o addr show dev eth0; ping -c 1 -W 10 " + gateway
                + " >/dev/null && echo reached-host", null);
        List<String> lines = r.logs().lines();
        assertTrue(r.exitCode() == 0 && lines.size() == 4 && lines.get(0).equals("eth0") && lines.get(1).equals("lo")
                        && lines.get(2).contains("inet " + ip + "/24") && lines.get(3).equals("reached-host"),
                "expected eth0 and lo, " + ip + "/24 on eth0 and the host's " + gateway + " reachable", r.logs());
        Result ping = ws.run(Duration.ofSeconds(30), HOST_BUSYBOX, "ping", "-c", "1", "-W", "10", (String) ip);
        assertTrue(ping.exit() == 0, "the host cannot ping the pod at " + ip, ping);
    }

    /**
     * create, start, exec (sync and streamed), logs, stats, stop (SIGTERM reaches it), rm: no
     * runtime state and no cgroup left.
     */
    @Test
    void containerLifecycle() throws Exception {
        String id = create(pod, "trap 'echo got-term; exit 42' TERM; echo started; echo to-stderr >&2;"
                + " while :; do sleep 0.1; done", null, null);
        assertTrue("CONTAINER_CREATED".equals(state(id)), "a created container is not CONTAINER_CREATED",
                crictl("inspect", id));
        ok(crictl("start", id));
        expectState(id, "CONTAINER_RUNNING");
        if (!eventually(Duration.ofSeconds(30), () -> crictl("logs", id).stdout().contains("started"))) {
            fail("the container's output never reached its log\n" + explain(crictl("logs", id)));
        }
        Result logs = crictl("logs", id);
        assertTrue(logs.stdout().contains("started") && logs.stderr().contains("to-stderr") && !logs.stdout().contains("to-stderr"),
                "crictl logs does not give the container's stdout and stderr apart", logs);

        // The exec joins the pod's namespaces: pid 1 is the pod's pause (CRI's default pid namespace is the pod's).
        Result exec = ok(crictl("exec", "--sync", id, "sh", "-c",
                "echo exec-out; id -u; tr '\\0' ' ' < /proc/1/cmdline; echo; touch /written-by-exec && echo root-writable"));
        assertLines(exec, "exec-out", "0", "/pause", "root-writable");
        Result streamed = ok(crictl("exec", id, "sh", "-c", "echo streamed-$((40+2))"));
        assertLines(streamed, "streamed-42");
        Result failing = crictl("exec", "--sync", id, "sh", "-c", "exit 3");
        assertTrue(failing.exit() != 0 && failing.stderr().contains("exited with 3"), "exec's exit status 3 was lost", failing);

        Map<String, Object> stats = json(crictl("stats", "-o", "json", id));
        Object entry = at(stats, "stats") instanceof List<?> l && l.size() == 1 ? l.get(0) : null;
        long cpu = number(at(entry, "cpu", "usageCoreNanoSeconds", "value"));
        long mem = number(at(entry, "memory", "workingSetBytes", "value"));
        assertTrue(id.equals(at(entry, "attributes", "id")) && cpu > 0 && mem > 0,
                "crictl stats does not show the container with some CPU and memory use", crictl("stats", "-o", "json", id));

        Map<String, Object> running = json(crictl("inspect", "-o", "json", id));
        long pid = pid(running);
        List<Path> cgroups = Cgroups.containerDirs(pid);
        assertTrue(!cgroups.isEmpty() && cgroups.stream().allMatch(c -> c.toString().contains(cgroupParent)),
                "the container's cgroups (pid " + pid + ") are not below the pod's parent /" + cgroupParent + ": " + cgroups,
                crictl("inspect", id));

        ok(crictl("stop", "--timeout", "20", id));
        Map<String, Object> stopped = json(crictl("inspect", "-o", "json", id));
        assertTrue("CONTAINER_EXITED".equals(at(stopped, "status", "state")) && number(at(stopped, "status", "exitCode")) == 42
                        && crictl("logs", id).stdout().contains("got-term"),
                "stop did not deliver SIGTERM to the container (its trap exits 42 after printing got-term)",
                crictl("inspect", id));

        ok(crictl("rm", id));
        testContainers.remove(id);
        Result ps = ok(crictl("ps", "--all", "--quiet"));
        assertTrue(!ps.lines().contains(id), "the container is still listed after rm", ps);
        assertTrue(!runtimeKnows(runtimeRoot.resolve(K8S), id), "the runtime still has the container's state after rm", ps);
        for (Path cg : cgroups) assertTrue(!Files.exists(cg), "cgroup " + cg + " is left after rm", ps);
    }

    /**
     * drop_capabilities [CHOWN]: exactly that bit goes from the default set, and chown fails.
     * The default set is read from the pod's pause process on the host: containerd gives the
     * sandbox the same default capabilities it starts a container's from.
     */
    @Test
    void dropOneCapability() throws Exception {
        long pause = pid(json(crictl("inspectp", "-o", "json", pod.id())));
        Result host = ws.run(Duration.ofSeconds(30), "grep", "^Cap", "/proc/" + pause + "/status");
        long def = capSet(host, "CapEff");
        assertTrue(def != -1 && (def & 1) != 0 && capSet(host, "CapBnd") == def,
                "the pod's pause (pid " + pause + ") does not have a default set with CAP_CHOWN (bit 0)", host);
        Ran dropped = runToExit("grep Cap /proc/self/status; if chown 1 /tmp 2>/dev/null; then echo chowned; else echo chown-denied; fi",
                map("capabilities", map("drop_capabilities", List.of("CHOWN"))));
        List<String> wrong = new ArrayList<>();
        for (String set : List.of("CapEff", "CapPrm", "CapBnd")) {
            long v = capSet(dropped.logs(), set);
            if (v != (def & ~1L)) wrong.add(set + " is " + Long.toHexString(v) + ", want " + Long.toHexString(def & ~1L));
        }
        assertTrue(wrong.isEmpty() && dropped.logs().lines().contains("chown-denied"),
                "dropping CHOWN: " + wrong + " (or chown still works)", dropped.logs());
    }

    /**
     * drop_capabilities [ALL]: containerd then writes a config.json with an empty capabilities
     * object; the process has no capability in any set, and chown fails.
     */
    @Test
    void dropAllCapabilities() throws Exception {
        Ran r = runToExit("grep Cap /proc/self/status; if chown 1 /tmp 2>/dev/null; then echo chowned; else echo chown-denied; fi",
                map("capabilities", map("drop_capabilities", List.of("ALL"))));
        List<String> wrong = new ArrayList<>();
        for (String set : List.of("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")) {
            long v = capSet(r.logs(), set);
            if (v != 0) wrong.add(set + " is " + Long.toHexString(v));
        }
        assertTrue(wrong.isEmpty() && r.logs().lines().contains("chown-denied"),
                "dropping ALL left capabilities: " + wrong, r.logs());
    }

    /** readonly_rootfs: a write to / fails (the lifecycle check's exec writes to a default one). */
    @Test
    void readOnlyRoot() throws Exception {
        Ran r = runToExit("if touch /probe 2>/dev/null; then echo root-writable; else echo root-read-only; fi",
                map("readonly_rootfs", true));
        assertLines(r.logs(), "root-read-only");
    }

    /** run_as_user and run_as_group: the process's ids. */
    @Test
    void nonRootUser() throws Exception {
        Ran r = runToExit("id -u; id -g; if touch /root/x 2>/dev/null; then echo root-home-writable; else echo denied; fi",
                map("run_as_user", map("value", 1234), "run_as_group", map("value", 2345)));
        assertLines(r.logs(), "1234", "2345", "denied");
    }

    /**
     * A volume with PROPAGATION_BIDIRECTIONAL (containerd: an rshared bind and
     * rootfsPropagation rshared), its host dir on a shared mount of the test's own: a mount the
     * container makes in it appears on the host, one the host makes appears in the container.
     */
    @Test
    void bidirectionalPropagation() throws Exception {
        Path dir = ws.mkdir("rshared-" + System.nanoTime());
        Path fromContainer = dir.resolve("fromcontainer");
        Path fromHost = dir.resolve("fromhost");
        Files.createDirectories(fromContainer);
        Files.createDirectories(fromHost);
        hostOk("mount", "--bind", dir.toString(), dir.toString());
        try {
            hostOk("mount", "--make-shared", dir.toString());
            String id = startContainer("mount -t tmpfs -o size=1m fromcontainer /shared/fromcontainer"
                            + " && echo from-the-container > /shared/fromcontainer/marker && echo mounted; sleep 1000",
                    map("capabilities", map("add_capabilities", List.of("SYS_ADMIN"))),
                    List.of(map("container_path", "/shared", "host_path", dir.toString(),
                            "propagation", PROPAGATION_BIDIRECTIONAL)));
            if (!eventually(Duration.ofSeconds(30), () -> crictl("logs", id).stdout().contains("mounted"))) {
                fail("the container could not mount in its volume\n" + explain(crictl("logs", id)));
            }
            // "mounted" is printed after the mount, and propagation happens within mount(2): no wait.
            boolean toHost = SafeDelete.mountsUnder(dir).contains(fromContainer);
            String hostSees = Files.exists(fromContainer.resolve("marker")) ? Files.readString(fromContainer.resolve("marker")).strip()
                    : "nothing";

            hostOk("mount", "-t", "tmpfs", "-o", "size=1m", "fromhost", fromHost.toString());
            Files.writeString(fromHost.resolve("marker"), "from-the-host\n");
            Result seen = crictl("exec", "--sync", id, "sh", "-c",
                    "cat /shared/fromhost/marker 2>/dev/null || echo nothing; grep -c ' /shared/fromhost ' /proc/self/mountinfo;"
                            + " grep ' /shared ' /proc/self/mountinfo"); // its propagation, for the failure message
            boolean toContainer = seen.exit() == 0 && seen.lines().size() >= 2
                    && seen.lines().subList(0, 2).equals(List.of("from-the-host", "1"));

            Map<String, Object> inspect = json(crictl("inspect", "-o", "json", id));
            String propagation = "rootfsPropagation " + at(inspect, "info", "runtimeSpec", "linux", "rootfsPropagation");
            assertTrue(toHost && hostSees.equals("from-the-container") && toContainer,
                    "bidirectional propagation: container -> host " + (toHost ? "ok" : "missing (host sees " + hostSees + ")")
                            + ", host -> container " + (toContainer ? "ok" : "missing") + "; the spec has " + propagation,
                    seen);
        } finally {
            // The container's mounts go with its mount namespace; the host's are ours: deepest
            // first, a few rounds (a path mounted twice is listed once).
            for (String id : testContainers) crictl("rm", "--force", id);
            testContainers.clear();
            for (int round = 0; round < 3 && !SafeDelete.mountsUnder(dir).isEmpty(); round++) {
                List<Path> mounts = new ArrayList<>(SafeDelete.mountsUnder(dir));
                mounts.sort(Comparator.comparingInt(Path::getNameCount).reversed());
                for (Path m : mounts) ws.run(Duration.ofSeconds(30), "umount", m.toString());
            }
            List<Path> left = SafeDelete.mountsUnder(dir);
            if (!left.isEmpty()) fail("mounts left under " + dir + " (umount failed): " + left);
        }
    }

    private void hostOk(String... argv) throws Exception {
        Result r = ws.run(Duration.ofSeconds(30), argv);
        if (r.exit() != 0) fail("host command failed\n" + r);
    }

    /**
     * A pod of its own through stopp and rmp: stopp stops its containers and the sandbox and
     * runs CNI DEL (lease, cache files and veth gone); rmp removes it, and the runtime knows
     * neither the sandbox nor the container, whose cgroups are gone.
     */
    @Test
    void podStopAndRemove() throws Exception {
        Pod own = runPod("own");
        Map<String, Object> sandbox = json(crictl("inspectp", "-o", "json", own.id()));
        String ip = String.valueOf(at(sandbox, "status", "network", "ip"));
        List<Path> sandboxCgroups = Cgroups.containerDirs(pid(sandbox));
        assertTrue(Files.exists(ipamDir.resolve(network).resolve(ip)) && !cacheFiles(own.id()).isEmpty()
                        && bridgePorts().size() >= 2 && !sandboxCgroups.isEmpty(),
                "the new pod " + ip + " has no host-local lease, libcni cache files, veth on " + bridge + " or cgroups",
                crictl("inspectp", own.id()));
        String id = create(own, "while :; do sleep 0.1; done", null, null);
        ok(crictl("start", id));
        expectState(id, "CONTAINER_RUNNING");
        List<Path> cgroups = Cgroups.containerDirs(pid(json(crictl("inspect", "-o", "json", id))));

        ok(crictl("stopp", own.id()));
        Map<String, Object> stopped = json(crictl("inspectp", "-o", "json", own.id()));
        assertTrue("SANDBOX_NOTREADY".equals(at(stopped, "status", "state")) && "CONTAINER_EXITED".equals(state(id))
                        && Boolean.TRUE.equals(at(stopped, "info", "netNamespaceClosed")),
                "stopp did not stop the pod, its container and close its network namespace", crictl("inspectp", own.id()));
        List<String> cni = new ArrayList<>(cacheFiles(own.id()));
        if (Files.exists(ipamDir.resolve(network).resolve(ip))) cni.add("host-local lease " + ip);
        if (bridgePorts().size() != 1) cni.addAll(bridgePorts());
        assertTrue(cni.isEmpty(), "CNI DEL left " + cni, crictl("inspectp", own.id()));

        ok(crictl("rmp", own.id()));
        testContainers.remove(id);
        Result pods = ok(crictl("pods", "--quiet"));
        Result ps = ok(crictl("ps", "--all", "--quiet"));
        assertTrue(!pods.lines().contains(own.id()) && !ps.lines().contains(id), "rmp left the pod or its container listed", ps);
        assertTrue(!runtimeKnows(runtimeRoot.resolve(K8S), own.id()) && !runtimeKnows(runtimeRoot.resolve(K8S), id),
                "the runtime still has the sandbox's or the container's state after rmp", pods);
        for (Path cg : sandboxCgroups) assertTrue(!Files.exists(cg), "sandbox cgroup " + cg + " is left after rmp", pods);
        for (Path cg : cgroups) assertTrue(!Files.exists(cg), "container cgroup " + cg + " is left after rmp", pods);
    }
}
