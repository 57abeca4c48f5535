package kurma.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

import kurma.engine.Engine;
import kurma.engine.EngineException;
import kurma.image.ImageException;
import kurma.image.Platform;

/**
 * bin/kurma: images and containers from images, the way docker and podman users expect,
 * without a daemon: the engine (containers from images) and the image library run in this process.
 */
public final class Main {
    private static final String USAGE = """
            usage: kurma [--root DIR] [--runroot DIR] COMMAND [options]

              --root DIR      images, snapshots and containers (default /var/lib/kurma)
              --runroot DIR   the runtime's state of running containers (default /run/kurma)

            images:
              image pull [--platform os/arch] [--creds user:pass] [--authfile F] [--tls-verify=false] IMAGE
              image ls [-q]                 (also: images)
              image rm [-f] IMAGE...        (also: rmi)
              image inspect IMAGE...
              image import FILE [NAME]      docker-archive or oci-archive (also: load -i FILE)
              image export -o FILE [--format docker-archive|oci-archive] IMAGE...
              image prune                   blobs and snapshots nothing uses
              pull IMAGE                    (image pull)

            containers:
              run [--rm] [-d] [--name N] [-e K=V] [-w DIR] [-u USER[:GROUP]] [-v SRC:DST[:ro]] [--read-only]
                  [--net none|host] [-m|--memory 64m] [--pids-limit N] [--entrypoint CMD] [-i] [-t] [--hostname H]
                  [--security-opt seccomp=unconfined]
                  IMAGE [COMMAND [ARG...]]
              ps [-a] [-q]
              rm [-f] CONTAINER...
              logs CONTAINER                the output of a detached container""";

    private final PrintStream out;
    private final PrintStream err;

    /** Also used by {@link Train}, which runs commands in-process with its own streams. */
    Main(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] argv) {
        int code = new Main(System.out, System.err).run(List.of(argv));
        System.out.flush();
        System.exit(code);
    }

    int run(List<String> argv) {
        try {
            Flags g = Flags.parse(argv, new String[] {"root", "runroot"}, new String[] {"help|h"}, true);
            if (g.has("help") || g.positional.isEmpty()) {
                out.println(USAGE);
                return g.positional.isEmpty() && !g.has("help") ? 125 : 0;
            }
            Path root = Path.of(g.value("root") != null ? g.value("root") : "/var/lib/kurma").toAbsolutePath();
            Path runRoot = Path.of(g.value("runroot") != null ? g.value("runroot") : "/run/kurma").toAbsolutePath();
            // stage2's path: bin/kurma names it (-Dkurma.stage2); the engine reads no property.
            String stage2 = System.getProperty("kurma.stage2");
            Engine engine = Engine.open(new Engine.Config(root, runRoot, Platform.host().architecture(),
                    stage2 == null ? null : Path.of(stage2)));
            Images images = new Images(engine, out, err);
            ContainerCommands containers = new ContainerCommands(engine, out, err, images);
            String cmd = g.positional.getFirst();
            List<String> rest = g.positional.subList(1, g.positional.size());
            if (cmd.equals("image")) {
                if (rest.isEmpty()) throw new UsageException("usage: kurma image pull|ls|rm|inspect|import|export|prune");
                return image(rest.getFirst(), rest.subList(1, rest.size()), images, engine);
            }
            return switch (cmd) {
                case "pull", "images", "rmi" -> image(cmd.equals("images") ? "ls" : cmd.equals("rmi") ? "rm" : "pull", rest, images,
                        engine);
                case "load" -> {
                    Flags f = Flags.parse(rest, new String[] {"input|i"}, new String[0], false);
                    if (f.value("input") == null) throw new UsageException("usage: kurma load -i FILE");
                    yield image("import", List.of(f.value("input")), images, engine);
                }
                case "run" -> containers.run(Flags.parse(rest, ContainerCommands.RUN_VALUED, ContainerCommands.RUN_SWITCHES, true));
                case "ps" -> containers.ps(Flags.parse(rest, new String[0], new String[] {"all|a", "quiet|q"}, false));
                case "rm" -> containers.rm(Flags.parse(rest, new String[0], new String[] {"force|f"}, false));
                case "logs" -> containers.logs(Flags.parse(rest, new String[0], new String[0], false));
                case "help" -> {
                    out.println(USAGE);
                    yield 0;
                }
                default -> throw new UsageException("unknown command \"" + cmd + "\"; see kurma --help");
            };
        } catch (UsageException e) {
            err.println("kurma: " + e.getMessage());
            return 125;
        } catch (EngineException e) {
            cleanupFailures(e);
            err.println("kurma: " + e.getMessage());
            // As docker: 127 when the command is not found in the container, 126 when it cannot be run.
            if (e.code() == EngineException.Code.PROGRAM_NOT_FOUND) return 127;
            if (e.code() == EngineException.Code.NOT_EXECUTABLE) return 126;
            return 125;
        } catch (CmdException | ImageException e) {
            cleanupFailures(e);
            err.println("kurma: " + e.getMessage());
            return 125;
        } catch (java.io.UncheckedIOException e) {
            err.println("kurma: " + e.getMessage());
            return 125;
        }
    }

    /** What could not be undone after a failure (the engine's clean-up of a half-made container), before the failure itself. */
    private void cleanupFailures(RuntimeException e) {
        for (Throwable s : e.getSuppressed()) err.println("kurma: " + s.getMessage());
    }

    private int image(String sub, List<String> rest, Images images, Engine engine) {
        return switch (sub) {
            case "pull" -> images.pull(Flags.parse(rest, Images.PULL_VALUED, Images.PULL_SWITCHES, false));
            case "ls", "list" -> images.ls(Flags.parse(rest, new String[0], new String[] {"quiet|q"}, false));
            case "rm" -> images.rm(Flags.parse(rest, new String[0], new String[] {"force|f"}, false), engine.usedImageIds());
            case "inspect" -> images.inspect(Flags.parse(rest, new String[0], new String[0], false));
            case "import" -> images.importArchive(Flags.parse(rest, new String[] {"platform"}, new String[0], false));
            case "export" -> images.export(Flags.parse(rest, new String[] {"output|o", "format"}, new String[0], false));
            case "prune" -> images.prune(Flags.parse(rest, new String[0], new String[] {"all|a", "force|f"}, false),
                    engine.usedChainIds());
            default -> throw new UsageException("unknown image command \"" + sub + "\"");
        };
    }
}
