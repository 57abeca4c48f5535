package kurma.runtime;

import kurma.sys.Libc;
import sun.misc.Signal;

/**
 * While {@code run} waits in the foreground, the signals a user or engine sends to it are
 * meant for the container (runc does the same): pass them on to the container's init.
 */
final class SignalForwarder {
    private SignalForwarder() {}

    private static final String[] SIGNALS = {"INT", "TERM", "HUP", "QUIT", "USR1", "USR2", "WINCH"};

    static void forwardTo(int pid) {
        for (String name : SIGNALS) {
            try {
                Signal sig = new Signal(name);
                Signal.handle(sig, s -> Libc.kill(pid, s.getNumber()));
            } catch (IllegalArgumentException reservedByJvm) {
                // the JVM keeps some signals (QUIT for thread dumps in some setups): skip them
            }
        }
    }
}
