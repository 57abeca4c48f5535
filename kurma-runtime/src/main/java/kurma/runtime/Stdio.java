package kurma.runtime;

import java.util.List;

/**
 * The fds a container's process gets, as fd numbers of the calling process that the caller owns
 * (pipes, files, a pty, sockets: anything open): {@code in}, {@code out} and {@code err} become
 * its 0, 1 and 2, {@code extra} its 3, 4, ... stage2 takes a copy of each while the process is
 * created (pidfd_getfd), so the caller may close them once create or exec has returned. Nothing
 * else of the caller's reaches the container.
 */
public record Stdio(int in, int out, int err, List<Integer> extra) {

    public Stdio {
        extra = List.copyOf(extra);
        if (in < 0 || out < 0 || err < 0) throw new IllegalArgumentException("stdio: negative fd");
        for (int fd : extra) if (fd < 0) throw new IllegalArgumentException("stdio: negative fd");
        if (extra.size() > 65536) throw new IllegalArgumentException("stdio: more than 65536 extra fds");
    }

    /** This process's own 0-2, and its fds 3..3+extraFds-1 as the container's 3.. (runc's --preserve-fds). */
    public static Stdio inherited(int extraFds) {
        Integer[] extra = new Integer[extraFds];
        for (int i = 0; i < extraFds; i++) extra[i] = 3 + i;
        return new Stdio(0, 1, 2, List.of(extra));
    }

    /** The fds by their number in the container: index i is the caller's fd that becomes fd i. */
    int[] numbers() {
        int[] fds = new int[3 + extra.size()];
        fds[0] = in;
        fds[1] = out;
        fds[2] = err;
        for (int i = 0; i < extra.size(); i++) fds[3 + i] = extra.get(i);
        return fds;
    }
}
