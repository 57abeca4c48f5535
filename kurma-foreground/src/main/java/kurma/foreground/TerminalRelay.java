package kurma.foreground;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import kurma.sys.Pty;
import kurma.sys.SysException;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * A container's terminal relayed to ours, as runc does for {@code run} in the foreground with
 * process.terminal and no --console-socket (failures are IllegalStateExceptions with a one-line message): we listen on a console socket of our own, take
 * the pty master stage2 sends, put our terminal in raw mode (the container's pty does the line
 * editing and echo), copy both ways, pass window size changes on, and restore the terminal.
 */
public final class TerminalRelay implements AutoCloseable, SignalHandler {
    private final Path socket;
    private int listening;
    private int master = -1;
    private byte[] saved;
    private Thread output;

    private TerminalRelay(Path socket, int listening) {
        this.socket = socket;
        this.listening = listening;
    }

    /** Listens at socket (a path stage2 will connect to while creating the container). */
    public static TerminalRelay listen(Path socket) {
        try {
            Files.createDirectories(socket.getParent()); // --root, made here when this is its first container
            Files.deleteIfExists(socket);
            return new TerminalRelay(socket, Pty.listen(socket.toString()));
        } catch (IOException | SysException e) {
            throw new IllegalStateException("terminal: cannot listen at " + socket + ": " + e.getMessage(), e);
        }
    }

    /** The console socket to give the container's create. */
    public Path socket() {
        return socket;
    }

    /** Takes the master (sent during create) and starts relaying. */
    public void start(InputStream in, OutputStream out) {
        try {
            master = Pty.receiveFd(listening);
        } catch (SysException e) {
            throw new IllegalStateException("terminal: " + e.getMessage(), e);
        } finally {
            closeSocket();
        }
        saved = Pty.termios(0);
        if (saved != null) {
            Pty.setTermios(0, Pty.raw(saved));
            Pty.copyWindowSize(0, master);
            try {
                Signal.handle(new Signal("WINCH"), this);
            } catch (IllegalArgumentException unavailable) {
                // no resize then
            }
        }
        Thread input = new Thread(new Copy(in, null, master), "terminal-in");
        input.setDaemon(true);
        input.start();
        output = new Thread(new Copy(null, out, master), "terminal-out");
        output.setDaemon(true);
        output.start();
    }

    /** Waits (a bounded time) until the container's last output has been copied. */
    public void drain() {
        if (output == null) return;
        try {
            output.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void handle(Signal sig) {
        if (master >= 0) Pty.copyWindowSize(0, master);
    }

    private void closeSocket() {
        if (listening >= 0) {
            Pty.close(listening);
            listening = -1;
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException ignored) {
            // a stale socket file in --root is harmless
        }
    }

    @Override
    public void close() {
        closeSocket();
        if (saved != null) Pty.setTermios(0, saved);
        saved = null;
    }

    /** One direction: our stdin to the master, or the master to our stdout. */
    private static final class Copy implements Runnable {
        private final InputStream in;
        private final OutputStream out;
        private final int master;

        Copy(InputStream in, OutputStream out, int master) {
            this.in = in;
            this.out = out;
            this.master = master;
        }

        @Override
        public void run() {
            byte[] buf = new byte[8192];
            try {
                while (true) {
                    if (in != null) {
                        int n = in.read(buf);
                        if (n < 0 || Pty.write(master, buf, n) != 0) return;
                    } else {
                        int n = Pty.read(master, buf);
                        if (n == -4 /* EINTR */) continue;
                        if (n <= 0) return; // EIO: the container's side is closed
                        out.write(buf, 0, n);
                        out.flush();
                    }
                }
            } catch (IOException e) {
                // our side went away: stop copying
            }
        }
    }
}
