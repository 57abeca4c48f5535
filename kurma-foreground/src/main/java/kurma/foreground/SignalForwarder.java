package kurma.foreground;

import kurma.sys.Libc;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * While {@code run} waits in the foreground, the signals a user or engine sends to it are
 * meant for the container (runc does the same): pass them on to the container's init.
 * A named class rather than a lambda: a lambda's first use costs a bootstrap at start-up.
 */
public final class SignalForwarder implements SignalHandler {
    private static final String[] SIGNALS = {"INT", "TERM", "HUP", "QUIT", "USR1", "USR2", "WINCH"};

    private final int pid;

    private SignalForwarder(int pid) {
        this.pid = pid;
    }

    /** From now on the signals a user or engine sends this process go to pid. */
    public static void forwardTo(int pid) {
        SignalForwarder f = new SignalForwarder(pid);
        for (String name : SIGNALS) {
            try {
                Signal.handle(new Signal(name), f);
            } catch (IllegalArgumentException reservedByJvm) {
                // the JVM keeps some signals (QUIT for thread dumps in some setups): skip them
            }
        }
    }

    @Override
    public void handle(Signal sig) {
        Libc.kill(pid, sig.getNumber());
    }
}
