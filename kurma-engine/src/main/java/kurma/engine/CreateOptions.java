package kurma.engine;

import java.util.List;

/**
 * What a container is made from: the image and what the caller asks for on top of its
 * config. Null (or empty) means "the image's, or Docker's, default".
 *
 * @param image      a name or id of an image in the store
 * @param name       unique among the containers; null: {@code kurma-} and the id's first 12 digits
 * @param hostname   null: the id's first 12 digits, as Docker
 * @param env        KEY=VALUE, over the image's
 * @param workdir    absolute; null: the image's, else /
 * @param user       name|uid[:group|gid], looked up in the image; null: the image's, else root
 * @param entrypoint null: the image's; given (even empty), the image's cmd is dropped as well
 * @param cmd        empty: the image's (unless an entrypoint is given)
 * @param memory     memory limit in bytes; null: none
 * @param pidsLimit  null: none
 * @param tty        the process gets a terminal (and TERM=xterm unless env sets it)
 * @param autoRemove recorded for whoever removes the container once it exits
 */
public record CreateOptions(String image, String name, String hostname, List<String> env, String workdir, String user,
        List<String> entrypoint, List<String> cmd, List<Volume> volumes, boolean readOnly, Network network, Long memory,
        Long pidsLimit, boolean tty, Seccomp seccomp, boolean autoRemove) {

    /** The container's network: its own namespace with only loopback (up), or the host's. */
    public enum Network { NONE, HOST }

    /** Docker's default seccomp profile (see DefaultSeccomp), or no filter. */
    public enum Seccomp { DEFAULT, UNCONFINED }

    public CreateOptions {
        java.util.Objects.requireNonNull(image, "image");
        env = env == null ? List.of() : List.copyOf(env);
        entrypoint = entrypoint == null ? null : List.copyOf(entrypoint);
        cmd = cmd == null ? List.of() : List.copyOf(cmd);
        volumes = volumes == null ? List.of() : List.copyOf(volumes);
        if (network == null) network = Network.NONE;
        if (seccomp == null) seccomp = Seccomp.DEFAULT;
    }

    /** The image's defaults and Docker's for everything else. */
    public static CreateOptions of(String image) {
        return new CreateOptions(image, null, null, null, null, null, null, null, null, false, null, null, null, false, null,
                false);
    }

    /** These options with the container's command (the image's entrypoint stays). */
    public CreateOptions withCmd(List<String> command) {
        return new CreateOptions(image, name, hostname, env, workdir, user, entrypoint, command, volumes, readOnly, network,
                memory, pidsLimit, tty, seccomp, autoRemove);
    }

    /** These options with a name for the container. */
    public CreateOptions withName(String n) {
        return new CreateOptions(image, n, hostname, env, workdir, user, entrypoint, cmd, volumes, readOnly, network,
                memory, pidsLimit, tty, seccomp, autoRemove);
    }
}
