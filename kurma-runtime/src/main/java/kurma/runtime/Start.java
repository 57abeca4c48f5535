package kurma.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import kurma.runtime.KurmaException.Code;
import kurma.sys.LockedFile;

/**
 * start: releases a created container's init to exec the program. Opening the start fifo for
 * reading completes the init's blocked open for writing, and it writes one byte.
 */
final class Start {
    private Start() {}

    /**
     * known: the state already in hand (a foreground create), or null to read it. notifyHost:
     * the caller's NOTIFY_SOCKET, to relay the container's messages to until it says READY=1.
     */
    static void start(RuntimeContext ctx, String id, StateRecord known, String notifyHost) {
        StateStore store = ctx.store();
        NotifySocket notify = null;
        StateRecord started;
        try (LockedFile lock = store.lock(id)) {
            StateRecord s = known != null ? known : store.read(id);
            Status st = ctx.status(s);
            if (st != Status.CREATED) {
                throw new KurmaException(st == Status.STOPPED ? Code.NOT_RUNNING : Code.WRONG_STATE,
                        "cannot start container \"" + id + "\": it is " + st.text() + ", not created");
            }
            Path fifo = store.dir(id).resolve(StateStore.FIFO);
            // Bound before the program runs, so that no early message is lost.
            notify = notifyHost == null ? null : NotifySocket.bind(store.dir(id), notifyHost);
            // A blocking open (no native call needed) on a helper thread, so that we can keep
            // checking the init is still alive instead of waiting forever.
            FifoReader reader = new FifoReader(fifo);
            reader.start();
            while (!Processes.join(reader, 20)) {
                if (!ProcStat.alive(s.pid(), s.pidStartTime())) {
                    // The init is gone: either it never wrote (the reader may still be blocked in
                    // its open) or it was released and its program already ended. An open of our
                    // own lets a blocked reader through to end-of-file; read-write, because that
                    // never blocks on a fifo, even when the reader has already finished.
                    try (var unblock = new java.io.RandomAccessFile(fifo.toFile(), "rw")) {
                        // opened and closed: no byte written
                    }
                    Processes.join(reader, 1000);
                    break;
                }
            }
            if (reader.got < 0) {
                throw new KurmaException(Code.NOT_RUNNING, "container \"" + id + "\" exited before it could be started");
            }
            Files.deleteIfExists(fifo);
            // poststart hooks: their failure is reported, but the container runs (runtime-spec).
            if (!s.poststart().isEmpty()) {
                ctx.runHooksWarning("poststart", s.poststart(), Hooks.state(id, Status.RUNNING, s.pid(), s.bundle(), s.annotations()));
            }
            started = s;
        } catch (IOException e) {
            if (notify != null) notify.close();
            throw new KurmaException(Code.SYSTEM_ERROR, "starting \"" + id + "\": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (notify != null) notify.close();
            throw e;
        }
        if (notify != null) {
            // As runc: start returns once the container says READY=1 (or is gone); not under the lock.
            try (NotifySocket n = notify) {
                n.relayUntilReady(started.pid(), started.pidStartTime());
            }
        }
    }

    /** Opens the start fifo and reads the init's byte (a class, not a lambda: a lambda costs a bootstrap at start-up). */
    private static final class FifoReader extends Thread {
        private final Path fifo;
        volatile int got = -2;

        FifoReader(Path fifo) {
            super("start-fifo");
            this.fifo = fifo;
            setDaemon(true);
        }

        @Override
        public void run() {
            try (var in = new java.io.FileInputStream(fifo.toFile())) {
                got = in.read();
                // The init keeps the fifo open until it execs the program (after the
                // startContainer hooks): end-of-file means the program runs (or the init died).
                while (got >= 0 && in.read() >= 0) {
                    // a second byte is not part of the protocol: read to the end
                }
            } catch (IOException e) {
                got = -3;
            }
        }
    }
}
