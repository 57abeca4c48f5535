package kurma.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import kurma.engine.Container;
import kurma.engine.CreateOptions;
import kurma.engine.Engine;
import kurma.engine.EngineException;
import kurma.engine.Volume;

/**
 * kurma run, ps, rm, logs: the command line over the engine. Daemonless: the engine runs in
 * this process; a detached container's output goes to its log file and a small stage2 monitor
 * records its exit status, so nothing is lost when this command returns.
 */
final class ContainerCommands {
    private final Engine engine;
    private final PrintStream out;
    private final PrintStream err;
    private final Images images;

    ContainerCommands(Engine engine, PrintStream out, PrintStream err, Images images) {
        this.engine = engine;
        this.out = out;
        this.err = err;
        this.images = images;
    }

    // ------------------------------------------------------------------ run

    static final String[] RUN_VALUED = {"name", "env|e", "workdir|w", "user|u", "volume|v", "net|network", "memory|m",
        "pids-limit", "entrypoint", "hostname|h", "platform", "security-opt"};
    static final String[] RUN_SWITCHES = {"rm", "detach|d", "read-only", "tty|t", "interactive|i"};

    int run(Flags f) {
        if (f.positional.isEmpty()) throw new UsageException("usage: kurma run [options] IMAGE [COMMAND [ARG...]]");
        boolean detach = f.has("detach");
        if (detach && f.has("tty")) throw new UsageException("-d with -t needs an attach command, which comes with kurmad");
        String ref = f.positional.getFirst();
        String entrypoint = f.value("entrypoint");
        CreateOptions o = new CreateOptions(ref, f.value("name"), f.value("hostname"), env(f.values("env")), f.value("workdir"),
                f.value("user"), entrypoint == null ? null : entrypoint.isEmpty() ? List.of() : List.of(entrypoint),
                List.copyOf(f.positional.subList(1, f.positional.size())), volumes(f.values("volume")), f.has("read-only"),
                network(f.value("net")), size(f.value("memory"), "--memory"), number(f.value("pids-limit"), "--pids-limit"),
                f.has("tty"), seccomp(f.values("security-opt")), f.has("rm"));
        // Known before anything is made: a detached --rm container removes itself through bin/kurma.
        String self = detach && f.has("rm") ? self() : null;
        Container c;
        try {
            c = create(o, f.value("platform"));
            if (detach) {
                List<String> exit = self == null ? List.of()
                        : List.of(self, "--root", engine.config().stateDir().toString(), "--runroot",
                                engine.config().runRoot().toString(), "rm", "--force", c.id());
                try {
                    engine.start(c.id(), exit);
                } catch (RuntimeException e) {
                    cleanupQuietly(c);
                    throw e;
                }
                out.println(c.id());
                return 0;
            }
            int code;
            try {
                code = engine.runAttached(c.id(), new Attached());
                if (f.has("rm")) engine.remove(c.id(), false);
            } catch (RuntimeException e) {
                cleanupQuietly(c);
                throw e;
            }
            return code;
        } catch (EngineException e) {
            throw worded(e);
        }
    }

    /** The container made; an image not in the store is pulled first, as docker run does. */
    private Container create(CreateOptions o, String platform) {
        try {
            return engine.create(o);
        } catch (EngineException e) {
            if (e.code() != EngineException.Code.IMAGE_NOT_FOUND) throw e;
        }
        images.pullMissing(o.image(), platform);
        return engine.create(o);
    }

    /** An I/O failure the engine reports in the system's own words reads "run: ..." (the command that failed). */
    private static RuntimeException worded(EngineException e) {
        if (e.code() != EngineException.Code.IO || !(e.getCause() instanceof IOException io) || !e.getMessage().equals(io.getMessage())) {
            return e;
        }
        CmdException c = new CmdException("run: " + io.getMessage());
        for (Throwable s : e.getSuppressed()) c.addSuppressed(s);
        return c;
    }

    private void cleanupQuietly(Container c) {
        try {
            engine.remove(c.id(), true);
        } catch (RuntimeException e) {
            err.println("kurma: cleaning up " + c.bundle() + ": " + e.getMessage());
        }
    }

    /** -e KEY=VALUE as given; -e KEY takes KEY from our environment, and is left out when we have none. */
    private static List<String> env(List<String> given) {
        List<String> out = new ArrayList<>();
        for (String e : given) {
            if (e.indexOf('=') > 0) {
                out.add(e);
            } else {
                String v = System.getenv(e);
                if (v != null) out.add(e + "=" + v);
            }
        }
        return out;
    }

    /** --net none (the default: bridge networks come with kurmad) or host. */
    private static CreateOptions.Network network(String net) {
        if (net == null || net.equals("none")) return CreateOptions.Network.NONE;
        if (net.equals("host")) return CreateOptions.Network.HOST;
        throw new UsageException("--net takes none or host (bridge networks come with kurmad), got \"" + net + "\"");
    }

    /** --security-opt seccomp=unconfined turns the default seccomp profile off; nothing else is known yet. */
    private static CreateOptions.Seccomp seccomp(List<String> opts) {
        CreateOptions.Seccomp s = CreateOptions.Seccomp.DEFAULT;
        for (String o : opts) {
            if (o.equals("seccomp=unconfined") || o.equals("seccomp:unconfined")) s = CreateOptions.Seccomp.UNCONFINED;
            else throw new UsageException("--security-opt: only seccomp=unconfined is supported, got \"" + o + "\"");
        }
        return s;
    }

    /** -v SRC:DST[:ro|rw], both absolute (a missing SRC is made by the engine, as by docker). */
    private static List<Volume> volumes(List<String> specs) {
        List<Volume> out = new ArrayList<>();
        for (String v : specs) {
            String[] p = v.split(":");
            if (p.length < 2 || p.length > 3 || p[0].isEmpty() || !p[1].startsWith("/")) {
                throw new UsageException("-v takes SRC:DST[:ro|rw] with an absolute DST, got \"" + v + "\"");
            }
            if (p.length == 3 && !p[2].equals("ro") && !p[2].equals("rw")) {
                throw new UsageException("-v: unknown option \"" + p[2] + "\" (ro or rw)");
            }
            if (!p[0].startsWith("/")) {
                throw new UsageException("-v: \"" + p[0] + "\" is not an absolute path (named volumes come with kurmad)");
            }
            out.add(new Volume(p[0], p[1], p.length == 3 && p[2].equals("ro")));
        }
        return out;
    }

    /** The path of bin/kurma, for a detached --rm container's exit command. */
    private static String self() {
        String home = System.getProperty("kurma.home");
        if (home == null) throw new CmdException("--rm with -d needs kurma.home (set by bin/kurma)");
        return Path.of(home, "bin", "kurma").toAbsolutePath().normalize().toString();
    }

    static Long size(String v, String flag) {
        if (v == null) return null;
        String s = v.trim().toLowerCase(Locale.ROOT);
        if (s.endsWith("ib")) s = s.substring(0, s.length() - 2);
        else if (s.endsWith("b")) s = s.substring(0, s.length() - 1);
        long unit = 1;
        int k = s.isEmpty() ? -1 : "kmgt".indexOf(s.charAt(s.length() - 1));
        if (k >= 0) {
            unit = 1L << (10 * (k + 1));
            s = s.substring(0, s.length() - 1);
        }
        try {
            long n = Long.parseLong(s);
            if (n <= 0) throw new NumberFormatException();
            return Math.multiplyExact(n, unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new UsageException(flag + " takes a size such as 64m or 1g, got \"" + v + "\"");
        }
    }

    private static Long number(String v, String flag) {
        if (v == null) return null;
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new UsageException(flag + " takes a number, got \"" + v + "\"");
        }
    }

    // ------------------------------------------------------------------ ps, rm, logs

    /** "running", "created", "paused", "exited (N)", as docker ps words them. */
    static String status(Container c) {
        if (c.state() != Container.State.EXITED) return c.state().name().toLowerCase(Locale.ROOT);
        return c.exitCode() == null ? "exited" : "exited (" + c.exitCode() + ")";
    }

    int ps(Flags f) {
        f.expect(0, 0, "kurma ps [-a] [-q]");
        boolean all = f.has("all");
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"});
        for (Container c : engine.list()) {
            Container.State st = c.state();
            if (!all && st != Container.State.RUNNING && st != Container.State.PAUSED) continue;
            if (f.has("quiet")) {
                out.println(c.id().substring(0, 12));
                continue;
            }
            String cmd = String.join(" ", c.record().command());
            if (cmd.length() > 30) cmd = cmd.substring(0, 27) + "...";
            rows.add(new String[] {c.id().substring(0, 12), familiar(c.record().image()), "\"" + cmd + "\"",
                ago(c.record().created()), status(c), c.name()});
        }
        if (!f.has("quiet")) Table.print(out, rows);
        return 0;
    }

    /** busybox:latest rather than docker.io/library/busybox:latest, as docker shows it. */
    private static String familiar(String image) {
        try {
            return kurma.image.ref.ImageReference.parse(image).familiar();
        } catch (RuntimeException notAReference) {
            return image;
        }
    }

    static String ago(String created) {
        try {
            Duration d = Duration.between(Instant.parse(created), Instant.now());
            if (d.toSeconds() < 60) return d.toSeconds() + " seconds ago";
            if (d.toMinutes() < 60) return d.toMinutes() + " minutes ago";
            if (d.toHours() < 48) return d.toHours() + " hours ago";
            return d.toDays() + " days ago";
        } catch (RuntimeException e) {
            return created;
        }
    }

    int rm(Flags f) {
        if (f.positional.isEmpty()) throw new UsageException("usage: kurma rm [-f] CONTAINER...");
        int rc = 0;
        for (String key : f.positional) {
            try {
                engine.remove(key, f.has("force"));
                out.println(key);
            } catch (EngineException e) {
                switch (e.code()) {
                    case NOT_FOUND -> {
                        // --force on a container already gone (a detached --rm's exit command raced us) is fine.
                        if (!f.has("force")) {
                            err.println("kurma: " + e.getMessage());
                            rc = 1;
                        }
                    }
                    case CONFLICT -> {
                        err.println("kurma: " + e.getMessage() + ": stop it first or use rm --force");
                        rc = 1;
                    }
                    default -> throw e;
                }
            }
        }
        return rc;
    }

    int logs(Flags f) {
        f.expect(1, 1, "kurma logs CONTAINER");
        String key = f.positional.getFirst();
        Optional<Path> log = engine.logFile(key);
        if (log.isEmpty()) throw new CmdException("container " + key + " has no log (it was not run with -d)");
        try (var in = java.nio.file.Files.newInputStream(log.get())) {
            in.transferTo(out);
        } catch (IOException e) {
            throw new CmdException("cannot read " + log.get() + ": " + e.getMessage());
        }
        out.flush();
        return 0;
    }

    /** A foreground container on this command's own stdio, its signals passed on, a terminal relayed. */
    private static final class Attached implements kurma.engine.Attachment {
        @Override
        public int run(kurma.runtime.ContainerRuntime runtime, kurma.runtime.CreateRequest request) {
            return kurma.foreground.Foreground.run(runtime, request, System.in, System.out);
        }
    }
}
