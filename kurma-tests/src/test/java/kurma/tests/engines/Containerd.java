package kurma.tests.engines;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A containerd of the tests' own: its root, state and socket in the workspace, started with
 * a config file of ours (so /etc/containerd/config.toml plays no part). Both the containerd
 * test and Docker use it (dockerd --containerd), rather than the one dockerd would start,
 * whose config we could not choose.
 */
final class Containerd {
    final Daemon daemon;
    final Path socket;

    private Containerd(Daemon daemon, Path socket) {
        this.daemon = daemon;
        this.socket = socket;
    }

    /** Starts containerd under {@code ws.dir()/containerd}; its stop is registered with {@code ws}. */
    static Containerd start(Workspace ws) throws IOException, InterruptedException {
        EngineTest.requireBinary("/usr/bin/containerd", "containerd");
        EngineTest.requireBinary("/usr/bin/ctr", "containerd");
        // Paths containerd's shims use whatever the config says: their sockets go to /run/containerd/s.
        ws.trackHostPath("/run/containerd");
        Path dir = ws.mkdir("containerd");
        Path socket = dir.resolve("containerd.sock");
        Path config = dir.resolve("config.toml");
        // Plugins that would touch the host outside our dirs (opt: /opt/containerd) or that
        // we do not use (cri: Kubernetes; snapshotters this host cannot run) are disabled.
        Files.writeString(config, String.join("\n",
                "version = 2",
                "root = " + toml(dir.resolve("root")),
                "state = " + toml(dir.resolve("state")),
                "disabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.internal.v1.opt\","
                        + " \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\","
                        + " \"io.containerd.snapshotter.v1.aufs\", \"io.containerd.snapshotter.v1.devmapper\"]",
                "[grpc]",
                "  address = " + toml(socket),
                "[debug]",
                "  level = \"info\"",
                ""));
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

    private static String toml(Path p) {
        return "\"" + p.toString().replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
