package kurma.foreground;

import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;

import kurma.runtime.Container;
import kurma.runtime.ContainerRuntime;
import kurma.runtime.CreateRequest;
import kurma.runtime.KurmaException;
import kurma.runtime.KurmaException.Code;
import kurma.spec.Spec;

/**
 * A container run in a command's foreground, as runc's {@code run} does it: the command's signals
 * go to the container, a terminal without a console socket of the caller's is relayed to the
 * command's own, and the container is deleted once it has exited. Its exit code is the result.
 * Both command lines (kurma-runtime and kurma) run containers this way.
 */
public final class Foreground {
    private Foreground() {}

    /** Runs req's container (its config read here once) with in and out as the terminal's other end. */
    public static int run(ContainerRuntime rt, CreateRequest req, InputStream in, PrintStream out) {
        Spec spec = req.spec() != null ? req.spec() : ContainerRuntime.loadSpec(req.bundle());
        TerminalRelay relay = null;
        if (spec.process() != null && spec.process().terminal() && req.consoleSocket() == null) {
            // Through a socket of our own that stage2 connects to: it must listen before the plan goes out.
            relay = relay(rt.options().root().resolve(".console-" + req.id() + ".sock"));
            req = req.withConsoleSocket(relay.socket().toString());
        }
        try {
            Container c = rt.create(req.withSpec(spec).withForeground(true));
            try {
                SignalForwarder.forwardTo(c.pid());
                if (relay != null) startRelay(relay, in, out);
                c.start(req.notifySocket());
                int code = c.waitForExit();
                if (relay != null) relay.drain();
                return code;
            } finally {
                c.delete(true);
            }
        } finally {
            if (relay != null) relay.close();
        }
    }

    private static TerminalRelay relay(Path socket) {
        try {
            return TerminalRelay.listen(socket);
        } catch (IllegalStateException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, e.getMessage(), e);
        }
    }

    private static void startRelay(TerminalRelay relay, InputStream in, PrintStream out) {
        try {
            relay.start(in, out);
        } catch (IllegalStateException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, e.getMessage(), e);
        }
    }
}
