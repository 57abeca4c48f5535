package kurma.tests.engines;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A containerd of the tests' own: its root, state and socket in the workspace, started with
 * a config file of ours (so /etc/containerd/config.toml plays no part). The containerd test
 * and Docker use it (dockerd --containerd), rather than the one dockerd would start, whose
 * config we could not choose; the CRI test starts it with the CRI plugin on.
 */
final class Containerd {
    final Daemon daemon;
    final Path socket;

    private Containerd(Daemon daemon, Path socket) {
        this.daemon = daemon;
        this.socket = socket;
    }

    /**
     * What the CRI plugin ({@link #startWithCri}) is given: the pod sandbox image, one runtime
     * handler (the runc v2 shim with {@code BinaryName}, as README.md's Kubernetes paragraph
     * declares it) with the runtime's {@code --root}, and the CNI configuration directory.
     */
    record Cri(String sandboxImage, String handler, Path runtimeBinary, Path runtimeRoot, Path cniConfDir) {}

    /** Starts containerd under {@code ws.dir()/containerd}, CRI plugin off; its stop is registered with {@code ws}. */
    static Containerd start(Workspace ws) throws IOException, InterruptedException {
        return start(ws, null);
    }

    /**
     * Like {@link #start(Workspace)}, with the CRI plugin on and configured by {@code cri} (its
     * root and state below containerd's, in the workspace; so are the pods' network namespaces).
     */
    static Containerd startWithCri(Workspace ws, Cri cri) throws IOException, InterruptedException {
        return start(ws, cri);
    }

    private static Containerd start(Workspace ws, Cri cri) throws IOException, InterruptedException {
        EngineTest.requireBinary("/usr/bin/containerd", "containerd");
        EngineTest.requireBinary("/usr/bin/ctr", "containerd");
        // Paths containerd's shims use whatever the config says: their sockets go to /run/containerd/s.
        ws.trackHostPath("/run/containerd");
        Path dir = ws.mkdir("containerd");
        Path socket = dir.resolve("containerd.sock");
        Path config = dir.resolve("config.toml");
        // Plugins that would touch the host outside our dirs (opt: /opt/containerd) or that
        // we do not use (cri: Kubernetes, unless asked for; snapshotters this host cannot run) are disabled.
        List<String> lines = new ArrayList<>(List.of(
                "version = 2",
                "root = " + toml(dir.resolve("root")),
                "state = " + toml(dir.resolve("state")),
                "disabled_plugins = [" + (cri == null ? "\"io.containerd.grpc.v1.cri\", " : "")
                        + "\"io.containerd.internal.v1.opt\","
                        + " \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\","
                        + " \"io.containerd.snapshotter.v1.aufs\", \"io.containerd.snapshotter.v1.devmapper\"]",
                "[grpc]",
                "  address = " + toml(socket),
                "[debug]",
                "  level = \"info\""));
        if (cri != null) lines.addAll(criConfig(cri));
        lines.add("");
        Files.writeString(config, String.join("\n", lines));
        Daemon d = Daemon.start("containerd", List.of("/usr/bin/containerd", "--config", config.toString()), Map.of(),
                dir.resolve("containerd.log"),
                () -> Files.exists(socket) && ws.run(Duration.ofSeconds(30), "/usr/bin/ctr", "--address", socket.toString(),
                        "version").exit() == 0);
        ws.onClose("stop containerd (pid " + d.pid() + ")", () -> {
            String problem = d.stop();
            if (problem != null) throw new AssertionError(problem);
        });
        return new Containerd(d, socket);
    }

    /**
     * The CRI plugin's section. restrict_oom_score_adj: the sandboxes ask for a negative
     * oom_score_adj, which needs CAP_SYS_RESOURCE (not every host has it); the plugin then keeps
     * the daemon's own. disable_apparmor: on a host with AppArmor the plugin would load its
     * profile into the kernel, a host-wide change. netns_mounts_under_state_dir: the pods'
     * network namespaces are pinned in our state dir, not in /var/run/netns. The handler is also
     * the default runtime: the defaults' "runc" handler is replaced, not merged, by ours.
     */
    private static List<String> criConfig(Cri cri) {
        String plugin = "[plugins.\"io.containerd.grpc.v1.cri\"";
        String runtime = plugin + ".containerd.runtimes." + cri.handler();
        return List.of(
                plugin + "]",
                "  sandbox_image = " + toml(cri.sandboxImage()),
                "  restrict_oom_score_adj = true",
                "  disable_apparmor = true",
                "  netns_mounts_under_state_dir = true",
                plugin + ".containerd]",
                "  default_runtime_name = " + toml(cri.handler()),
                runtime + "]",
                "  runtime_type = \"io.containerd.runc.v2\"",
                runtime + ".options]",
                "  BinaryName = " + toml(cri.runtimeBinary()),
                "  Root = " + toml(cri.runtimeRoot()),
                plugin + ".cni]",
                "  bin_dir = \"/usr/lib/cni\"",
                "  conf_dir = " + toml(cri.cniConfDir()),
                "  max_conf_num = 1");
    }

    private static String toml(Path p) {
        return toml(p.toString());
    }

    private static String toml(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
