package kurma.runtime;

/** A process started by {@link Container#exec}: its pid and, unless detached, its exit. */
public final class ExecProcess {
    private final int pid;
    private final Stage2 monitor;

    ExecProcess(int pid, Stage2 monitor) {
        this.pid = pid;
        this.monitor = monitor;
    }

    /** Its pid, as this process sees it. */
    public int pid() {
        return pid;
    }

    /**
     * Waits for it to exit and returns its exit code (128+signal when killed). Only for a
     * process not detached, and only once.
     */
    public synchronized int waitFor() {
        if (monitor == null) throw new IllegalStateException("a detached exec has no exit to wait for");
        return ProcStat.exitCode(monitor.awaitExit());
    }
}
