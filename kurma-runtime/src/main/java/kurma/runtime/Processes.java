package kurma.runtime;

/** Small waits and kills the lifecycle shares. */
final class Processes {
    private Processes() {}

    /** SIGKILL without a native call of ours (ProcessHandle checks the pid is still that process). */
    static void killForcibly(int pid) {
        var h = ProcessHandle.of(pid);
        if (h.isPresent()) h.get().destroyForcibly();
    }

    /** SIGKILLs pid if it is still the process that started at startTime; whether it was alive. */
    static boolean killIfAlive(int pid, long startTime) {
        if (pid <= 0 || startTime < 0 || !ProcStat.alive(pid, startTime)) return false;
        killForcibly(pid);
        return true;
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits until t has ended, an interrupt kept for later (what t holds must not be abandoned). */
    static void joinFully(Thread t) {
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Waits up to ms for t; whether it has ended. */
    static boolean join(Thread t, long ms) {
        try {
            t.join(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !t.isAlive();
    }
}
