package kurma.tests.example;

// BEGIN README
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import kurma.engine.CreateOptions;
import kurma.engine.Engine;
import kurma.runtime.Container;
import kurma.runtime.Stdio;
import kurma.sys.Pipe;

/** Runs echo in a busybox image and returns what it printed, caught in a pipe of our own. */
public final class HelloKurma {
    public static String hello(Path stateDir, Path runRoot, Path busyboxArchive, Path stage2) {
        Engine engine = Engine.open(new Engine.Config(stateDir, runRoot, "amd64", stage2));
        engine.images().importArchive(busyboxArchive);                      // kurma-image: a docker-archive
        String id = engine.create(CreateOptions.of("busybox").withCmd(List.of("echo", "hello from Java"))).id();
        try (Pipe out = Pipe.open()) {
            int code = engine.runAttached(id, (runtime, request) -> {           // the runtime, our fds
                Container c = runtime.create(request.withStdio(new Stdio(0, out.writeFd(), out.writeFd(), List.of()), 0)
                        .withForeground(true));
                out.closeWrite();                                            // stage2 has its copy
                try {
                    c.start();
                    return c.waitForExit();
                } finally {
                    c.delete(true);
                }
            });
            return new String(out.readAll(), StandardCharsets.UTF_8) + "exit " + code;
        } finally {
            engine.remove(id, true);
        }
    }
}
// END README
