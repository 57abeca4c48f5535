package kurma.runtime.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.cgroups.Resources;
import kurma.foreground.SignalForwarder;
import kurma.foreground.Foreground;
import kurma.runtime.Container;
import kurma.runtime.ContainerRuntime;
import kurma.runtime.ContainerState;
import kurma.runtime.CreateRequest;
import kurma.runtime.ExecProcess;
import kurma.runtime.ExecRequest;
import kurma.runtime.KurmaException;
import kurma.runtime.KurmaException.Code;
import kurma.runtime.RuntimeOptions;
import kurma.runtime.Stage2Spares;
import kurma.runtime.Stdio;
import kurma.spec.Spec;
import kurma.spec.DefaultSpec;
import kurma.spec.Json;
import kurma.spec.Quote;

/**
 * kurma-runtime: a runc-compatible command line over the Kurma runtime library.
 *
 * <p>Engines run this several times per container, so nothing here loads more than the
 * command at hand needs: no reflection, no framework, JSON by hand.
 */
public final class Main {
    private static final String VERSION = "0.1.0";

    private static final String USAGE = """
            usage: kurma-runtime [global flags] COMMAND [flags] [args]

            global flags: --root DIR (default /run/kurma), --log FILE, --log-format text|json, --debug

            commands:
              create [--bundle|-b DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] [--no-pivot] ID
              start ID
              run [--detach|-d] [--bundle|-b DIR] [--pid-file F] [--preserve-fds N] [--no-pivot] ID
              state ID
              kill [--all|-a] ID [SIGNAL]
              delete [--force|-f] ID
              list [--format|-f table|json] [--quiet|-q]
              exec [--process FILE] [--detach|-d] [--pid-file F] [--cwd D] [--env|-e K=V] [--user|-u UID[:GID]]
                   [--cap CAP] [--preserve-fds N] ID [COMMAND [ARG...]]
              pause ID / resume ID
              ps [--format|-f table|json] ID [ps options]
              update [--resources|-r FILE|-] [--memory N] [--memory-swap N] [--memory-reservation N]
                     [--cpu-share N] [--cpu-quota N] [--cpu-period N] [--cpuset-cpus L] [--cpuset-mems L]
                     [--pids-limit N] [--blkio-weight N] ID
              events [--stats] [--interval 5s] ID
              spec [--bundle|-b DIR]
              features
              version""";

    private final PrintStream out;
    private final PrintStream err;
    /**
     * stage2 processes the launcher started for this JVM; null: read them from the launcher's
     * property (the training shares one set among its many runs).
     */
    private final Stage2Spares spares;
    private Log log;

    private Main(PrintStream out, PrintStream err, Stage2Spares spares) {
        this.out = out;
        this.err = err;
        this.spares = spares;
        this.log = new Log(null, "text", false, err);
    }

    public static void main(String[] argv) {
        int code = new Main(System.out, System.err, null).run(List.of(argv));
        System.out.flush();
        System.err.flush();
        // halt, not exit: System.exit initialises the JDK's logging to record the exit, which
        // costs ~10 ms per invocation; there are no shutdown hooks to run.
        Runtime.getRuntime().halt(code);
    }

    int run(List<String> argv) {
        try {
            Args global = Args.parse(argv, new String[] {"root", "log", "log-format", "criu"},
                    new String[] {"debug", "systemd-cgroup", "help|h", "version|v", "rootless"}, true);
            log = new Log(global.value("log"), global.value("log-format"), global.has("debug"), err);
            if (global.has("version")) return version();
            if (global.positional.isEmpty() || global.has("help")) {
                out.println(USAGE);
                return global.has("help") ? 0 : 1;
            }
            if (global.has("systemd-cgroup")) {
                throw new KurmaException(Code.UNSUPPORTED, "--systemd-cgroup: the systemd cgroup driver is not implemented; use cgroupfs paths");
            }
            Path root = Path.of(global.value("root") != null ? global.value("root") : "/run/kurma");
            String cmd = global.positional.getFirst();
            List<String> rest = global.positional.subList(1, global.positional.size());
            // What the library would otherwise take from this process, decided here: the
            // launcher's stage2 processes and stage2's path (system properties the launcher sets).
            Stage2Spares stage2s = spares != null ? spares : launcherSpares();
            String stage2 = System.getProperty("kurma.stage2");
            RuntimeOptions options = RuntimeOptions.of(root).withLog(log, log.debugging()).withSpares(stage2s)
                    .withStage2(stage2 == null ? null : Path.of(stage2)).withOnSharedPidNamespace(new NonDumpable());
            return command(cmd, rest, ContainerRuntime.open(options));
        } catch (UsageException e) {
            log.error(e.getMessage());
            return 2;
        } catch (KurmaException e) {
            log.error(e.getMessage());
            return 1;
        } catch (RuntimeException e) {
            // A bug rather than bad input: keep the one-line contract, but say what broke.
            log.error("internal error: " + e);
            return 1;
        }
    }

    private int command(String cmd, List<String> rest, ContainerRuntime rt) {
        switch (cmd) {
            case "create" -> {
                Args a = Args.parse(rest, new String[] {"bundle|b", "pid-file", "console-socket", "preserve-fds"},
                        new String[] {"no-pivot", "no-new-keyring"}, false);
                a.expect(1, "kurma-runtime create [flags] ID");
                rt.create(createRequest(a));
                return 0;
            }
            case "run" -> {
                Args a = Args.parse(rest, new String[] {"bundle|b", "pid-file", "console-socket", "preserve-fds"},
                        new String[] {"detach|d", "no-pivot", "no-new-keyring", "keep"}, false);
                a.expect(1, "kurma-runtime run [flags] ID");
                if (a.has("detach")) {
                    rt.create(createRequest(a)).start(notifySocket());
                    return 0;
                }
                return Foreground.run(rt, createRequest(a), System.in, System.out);
            }
            case "start" -> {
                Args a = Args.parse(rest, new String[0], new String[0], false);
                a.expect(1, "kurma-runtime start ID");
                rt.container(a.positional.getFirst()).start(notifySocket());
                return 0;
            }
            case "state" -> {
                Args a = Args.parse(rest, new String[0], new String[0], false);
                a.expect(1, "kurma-runtime state ID");
                out.println(Json.writePretty(rt.container(a.positional.getFirst()).state().toJson()));
                return 0;
            }
            case "kill" -> {
                Args a = Args.parse(rest, new String[0], new String[] {"all|a"}, false);
                if (a.positional.isEmpty() || a.positional.size() > 2) {
                    throw new UsageException("usage: kurma-runtime kill [--all] ID [SIGNAL]");
                }
                int sig = a.positional.size() == 2 ? Signals.parse(a.positional.get(1)) : 15;
                Container c = rt.container(a.positional.getFirst());
                if (a.has("all")) c.killAll(sig);
                else c.kill(sig);
                return 0;
            }
            case "delete" -> {
                Args a = Args.parse(rest, new String[0], new String[] {"force|f"}, false);
                a.expect(1, "kurma-runtime delete [--force] ID");
                rt.container(a.positional.getFirst()).delete(a.has("force"));
                return 0;
            }
            case "list" -> {
                Args a = Args.parse(rest, new String[] {"format|f"}, new String[] {"quiet|q"}, false);
                a.expect(0, "kurma-runtime list [--format table|json] [--quiet]");
                list(rt.list(), a.value("format") == null ? "table" : a.value("format"), a.has("quiet"));
                return 0;
            }
            case "exec" -> {
                Args a = Args.parse(rest, new String[] {"process|p", "console-socket", "pid-file", "cwd", "env|e", "user|u",
                    "cap|c", "preserve-fds", "additional-gids|g", "process-label", "apparmor"},
                        new String[] {"tty|t", "detach|d", "no-new-privs", "ignore-paused"}, true);
                if (a.positional.isEmpty()) throw new UsageException("usage: kurma-runtime exec [flags] ID [COMMAND [ARG...]]");
                Container c = rt.container(a.positional.getFirst());
                Spec.Process p = execProcess(c, a);
                int preserve = a.intValue("preserve-fds", 0);
                if (preserve < 0) throw new UsageException("--preserve-fds must not be negative");
                String pidFile = a.value("pid-file");
                ExecProcess e = c.exec(new ExecRequest(p, Stdio.inherited(preserve), a.has("detach"),
                        pidFile == null ? null : Path.of(pidFile), a.value("console-socket")));
                if (a.has("detach")) return 0;
                SignalForwarder.forwardTo(e.pid());
                return e.waitFor();
            }
            case "pause", "resume" -> {
                Args a = Args.parse(rest, new String[0], new String[0], false);
                a.expect(1, "kurma-runtime " + cmd + " ID");
                if (cmd.equals("pause")) rt.container(a.positional.getFirst()).pause();
                else rt.container(a.positional.getFirst()).resume();
                return 0;
            }
            case "ps" -> {
                // runc's form: ps [--format table|json] ID [ps options...]; the options go to ps(1).
                int split = rest.indexOf("--");
                List<String> own = split < 0 ? rest : rest.subList(0, split);
                Args a = Args.parse(own, new String[] {"format|f"}, new String[0], true);
                if (a.positional.isEmpty()) throw new UsageException("usage: kurma-runtime ps [--format table|json] ID [ps options]");
                List<String> psArgs = new ArrayList<>(a.positional.subList(1, a.positional.size()));
                if (split >= 0) psArgs.addAll(rest.subList(split + 1, rest.size()));
                ps(rt.container(a.positional.getFirst()).pids(), a.value("format") == null ? "table" : a.value("format"), psArgs);
                return 0;
            }
            case "update" -> {
                Args a = Args.parse(rest, Update.FLAGS, new String[0], false);
                a.expect(1, "kurma-runtime update [flags] ID");
                Resources r;
                try {
                    r = Resources.parse(Update.resources(a, System.in));
                } catch (IllegalArgumentException e) {
                    throw new KurmaException(Code.INVALID_ARGUMENT, "update: " + e.getMessage(), e);
                }
                rt.container(a.positional.getFirst()).update(r);
                return 0;
            }
            case "events" -> {
                Args a = Args.parse(rest, new String[] {"interval"}, new String[] {"stats"}, false);
                a.expect(1, "kurma-runtime events [--stats] [--interval 5s] ID");
                return events(rt.container(a.positional.getFirst()), a.has("stats"), interval(a.value("interval")));
            }
            case "spec" -> {
                Args a = Args.parse(rest, new String[] {"bundle|b"}, new String[] {"rootless"}, false);
                a.expect(0, "kurma-runtime spec [--bundle DIR]");
                if (a.has("rootless")) throw new KurmaException(Code.UNSUPPORTED, "spec --rootless: rootless containers are not implemented");
                Path config = Path.of(a.value("bundle") != null ? a.value("bundle") : ".").resolve("config.json");
                try {
                    Files.writeString(config, DefaultSpec.JSON, java.nio.file.StandardOpenOption.CREATE_NEW,
                            java.nio.file.StandardOpenOption.WRITE);
                } catch (FileAlreadyExistsException e) {
                    throw new KurmaException(Code.ALREADY_EXISTS, "File " + config + " exists. Remove it first");
                } catch (IOException e) {
                    throw new KurmaException(Code.SYSTEM_ERROR, "cannot write " + config + ": " + e.getMessage(), e);
                }
                return 0;
            }
            case "features" -> {
                Args.parse(rest, new String[0], new String[0], false).expect(0, "kurma-runtime features");
                out.println(Json.writePretty(Features.describe()));
                return 0;
            }
            case "version" -> {
                return version();
            }
            case "help" -> {
                out.println(USAGE);
                return 0;
            }
            default -> throw new UsageException("unknown command " + Quote.of(cmd) + "; see kurma-runtime --help");
        }
    }

    /**
     * runc's events: one JSON object per line, {"type":"stats","id":ID,"data":{...}} every
     * interval, and {"type":"oom","id":ID} when the OOM killer struck in between; until the
     * container stops. --stats: one stats event, then exit.
     */
    private int events(Container c, boolean once, long intervalMs) {
        String id = c.id();
        if (once) {
            kurma.cgroups.Stats stats = c.stats();
            if (stats == null) throw new KurmaException(Code.NOT_RUNNING, "container \"" + id + "\" is not running");
            out.println(Json.write(event("stats", id, stats.toJson())));
            return 0;
        }
        try {
            c.events(intervalMs, new EventPrinter());
            return 0;
        } catch (InterruptedException e) {
            return 130;
        }
    }

    /** One JSON line per event, flushed at once: an engine reads them as they come. */
    private final class EventPrinter implements java.util.function.Predicate<kurma.runtime.ContainerEvent> {
        @Override
        public boolean test(kurma.runtime.ContainerEvent e) {
            if (e instanceof kurma.runtime.ContainerEvent.Usage u) out.println(Json.write(event("stats", u.id(), u.stats().toJson())));
            else out.println(Json.write(event("oom", e.id(), null)));
            out.flush();
            return true;
        }
    }

    private static Map<String, Object> event(String type, String id, Map<String, Object> data) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("type", type);
        e.put("id", id);
        if (data != null) e.put("data", data);
        return e;
    }

    /** A Go-style duration as runc takes it: 5s, 500ms, 1m, 1m30s. */
    static long interval(String s) {
        if (s == null) return 5000;
        long total = 0;
        int i = 0;
        try {
            while (i < s.length()) {
                int start = i;
                while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) i++;
                double n = Double.parseDouble(s.substring(start, i));
                int u = i;
                while (i < s.length() && Character.isLetter(s.charAt(i))) i++;
                long unit = switch (s.substring(u, i)) {
                    case "ms" -> 1;
                    case "s" -> 1000;
                    case "m" -> 60_000;
                    case "h" -> 3_600_000;
                    default -> throw new NumberFormatException();
                };
                total += (long) (n * unit);
            }
        } catch (RuntimeException e) {
            throw new UsageException("--interval: not a duration such as 5s or 500ms: " + Quote.of(s));
        }
        if (total <= 0) throw new UsageException("--interval must be positive, got " + Quote.of(s));
        return total;
    }

    private int version() {
        out.println("kurma-runtime version " + VERSION);
        out.println("spec: " + ContainerState.OCI_VERSION);
        return 0;
    }

    private static Path bundle(Args a) {
        return Path.of(a.value("bundle") != null ? a.value("bundle") : ".");
    }

    private static CreateRequest createRequest(Args a) {
        int preserve = a.intValue("preserve-fds", 0);
        if (preserve < 0) throw new UsageException("--preserve-fds must not be negative");
        String pidFile = a.value("pid-file");
        int listen = listenFds();
        // The socket-activation fds come first, at 3.., then the --preserve-fds ones, as runc passes them.
        return CreateRequest.of(a.positional.getFirst(), bundle(a)).withStdio(Stdio.inherited(listen + preserve), listen)
                .withPidFile(pidFile == null ? null : Path.of(pidFile)).withNoPivot(a.has("no-pivot"))
                .withConsoleSocket(a.value("console-socket")).withNotifySocket(notifySocket());
    }

    /** The caller's sd_notify socket (systemd, podman --sdnotify=container), or null. */
    private static String notifySocket() {
        String s = System.getenv("NOTIFY_SOCKET");
        return s == null || s.isEmpty() ? null : s;
    }

    /** The stage2 processes the launcher started for this JVM (launcher/src/launcher.c). */
    private static Stage2Spares launcherSpares() {
        return Stage2Spares.parse(System.getProperty("kurma.stage2.spawned"), "kurma.stage2.spawned");
    }

    /**
     * A container sharing our pid namespace could open /proc/PID/exe of this JVM: make this
     * process non-dumpable first (a class, not a lambda: a lambda costs a bootstrap at start-up).
     */
    private static final class NonDumpable implements Runnable {
        @Override
        public void run() {
            kurma.sys.Libc.prctl(kurma.sys.Libc.PR_SET_DUMPABLE, 0);
        }
    }

    /** Socket activation (sd_listen_fds): LISTEN_FDS counts, when LISTEN_PID names this process. */
    private static int listenFds() {
        String n = System.getenv("LISTEN_FDS"), pid = System.getenv("LISTEN_PID");
        if (n == null || pid == null || !pid.equals(Long.toString(ProcessHandle.current().pid()))) return 0;
        try {
            return Math.max(0, Integer.parseInt(n));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /**
     * The process to exec: --process FILE as given, else runc's way: the container's own
     * process with the command line's args, and --env (added), --cwd, --user, --cap (added),
     * --additional-gids, --no-new-privs, --tty applied.
     */
    private static Spec.Process execProcess(Container c, Args a) {
        String file = a.value("process");
        if (file != null) {
            if (a.positional.size() > 1) throw new UsageException("exec: give --process or a command, not both");
            String text;
            try {
                text = Json.utf8(Files.readAllBytes(Path.of(file)), "exec: --process " + Quote.cut(file));
            } catch (IOException e) {
                throw new KurmaException(Code.INVALID_ARGUMENT, "exec: cannot read " + Quote.cut(file) + ": " + e.getMessage(), e);
            } catch (kurma.spec.JsonException e) {
                throw new KurmaException(Code.INVALID_CONFIG, e.getMessage(), e); // ... is not valid UTF-8 (at byte offset N)
            }
            try {
                return Spec.parseProcess(text);
            } catch (kurma.spec.JsonException | kurma.spec.ConfigException e) {
                throw new KurmaException(Code.INVALID_CONFIG, "exec: " + Quote.cut(file) + ": " + e.getMessage(), e);
            }
        }
        if (a.positional.size() < 2) throw new UsageException("usage: kurma-runtime exec [flags] ID COMMAND [ARG...]");
        Spec.Process base = c.process();
        List<String> env = new ArrayList<>(base.env());
        env.addAll(a.values("env"));
        long uid = base.user().uid(), gid = base.user().gid();
        String user = a.value("user");
        if (user != null) {
            try {
                String[] ug = user.split(":");
                uid = Long.parseLong(ug[0]);
                gid = ug.length > 1 ? Long.parseLong(ug[1]) : gid;
            } catch (NumberFormatException e) {
                throw new UsageException("--user takes UID[:GID], got " + Quote.of(user));
            }
            // As config.json's process.user: 4294967295 would mean "unchanged" to setresuid (root).
            if (uid < 0 || uid > MAX_ID || gid < 0 || gid > MAX_ID) {
                throw new UsageException("--user: uid and gid must be between 0 and " + MAX_ID + ", got " + Quote.of(user));
            }
        }
        List<Long> gids = new ArrayList<>(base.user().additionalGids());
        for (String g : a.values("additional-gids")) {
            long n;
            try {
                n = Long.parseLong(g);
            } catch (NumberFormatException e) {
                throw new UsageException("--additional-gids takes numbers, got " + Quote.of(g));
            }
            if (n < 0 || n > MAX_ID) throw new UsageException("--additional-gids: must be between 0 and " + MAX_ID + ", got " + n);
            gids.add(n);
        }
        Spec.Capabilities caps = base.capabilities();
        if (!a.values("cap").isEmpty()) {
            // An absent set holds nothing: --cap adds to empty ones.
            if (caps == null) caps = new Spec.Capabilities(null, null, null, null, null);
            caps = new kurma.spec.Spec.Capabilities(plus(caps.bounding(), a.values("cap")), plus(caps.effective(), a.values("cap")),
                    plus(caps.inheritable(), a.values("cap")), plus(caps.permitted(), a.values("cap")),
                    plus(caps.ambient(), a.values("cap")));
        }
        return new kurma.spec.Spec.Process(a.has("tty"), new kurma.spec.Spec.User(uid, gid, base.user().umask(), List.copyOf(gids)),
                List.copyOf(a.positional.subList(1, a.positional.size())), List.copyOf(env),
                a.value("cwd") != null ? a.value("cwd") : base.cwd(), caps, base.rlimits(),
                base.noNewPrivileges() || a.has("no-new-privs"), base.oomScoreAdj(), null);
    }

    /** The largest uid or gid exec takes: as config.json's process.user. */
    private static final long MAX_ID = kurma.spec.Spec.MAX_PROCESS_ID;

    private static List<String> plus(List<String> set, List<String> more) {
        List<String> out = new ArrayList<>(set == null ? List.of() : set);
        out.addAll(more);
        return out;
    }

    /** json: the pids; table: the host's ps(1) output (default -ef) cut to the container's processes, as runc does. */
    private void ps(List<Integer> pids, String format, List<String> psArgs) {
        if (format.equals("json")) {
            List<Object> l = new ArrayList<>();
            for (int p : pids) l.add((long) p);
            out.println(Json.write(l));
            return;
        }
        if (!format.equals("table")) throw new UsageException("--format must be table or json, got " + Quote.of(format));
        List<String> cmd = new ArrayList<>();
        cmd.add("ps");
        cmd.addAll(psArgs.isEmpty() ? List.of("-ef") : psArgs);
        String text;
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            text = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new KurmaException(Code.SYSTEM_ERROR, "ps " + String.join(" ", cmd.subList(1, cmd.size())) + ": " + text.strip());
            }
        } catch (IOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, "running ps: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KurmaException(Code.SYSTEM_ERROR, "interrupted while running ps");
        }
        String[] lines = text.split("\n");
        int column = Arrays.asList(lines[0].trim().split("\\s+")).indexOf("PID");
        if (column < 0) throw new KurmaException(Code.SYSTEM_ERROR, "ps output has no PID column: " + lines[0]);
        out.println(lines[0]);
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].trim().split("\\s+");
            if (f.length > column && pids.contains(Integer.valueOf(parseOr(f[column])))) out.println(lines[i]);
        }
    }

    private static int parseOr(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private void list(List<ContainerState> states, String format, boolean quiet) {
        if (quiet) {
            for (ContainerState s : states) out.println(s.id());
            return;
        }
        switch (format) {
            case "json" -> {
                List<Object> all = new ArrayList<>();
                for (ContainerState s : states) all.add(s.toJson());
                out.println(Json.write(all));
            }
            case "table" -> {
                List<String[]> rows = new ArrayList<>();
                rows.add(new String[] {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"});
                for (ContainerState s : states) {
                    rows.add(new String[] {s.id(), Integer.toString(s.pid()), s.status().text(), s.bundle(), s.created(), "root"});
                }
                int[] w = new int[6];
                for (String[] r : rows) for (int i = 0; i < 6; i++) w[i] = Math.max(w[i], r[i].length());
                for (String[] r : rows) {
                    StringBuilder sb = new StringBuilder();
                    for (int i = 0; i < 6; i++) {
                        sb.append(r[i]);
                        if (i < 5) sb.repeat(' ', w[i] - r[i].length() + 3);
                    }
                    out.println(sb);
                }
            }
            default -> throw new UsageException("--format must be table or json, got " + Quote.of(format));
        }
    }

    /** Exposed for the AOT training run; see {@link Train}. */
    static int runForTraining(Stage2Spares spares, String... argv) {
        return new Main(new PrintStream(PrintStream.nullOutputStream()), new PrintStream(PrintStream.nullOutputStream()),
                spares).run(Arrays.asList(argv));
    }
}
