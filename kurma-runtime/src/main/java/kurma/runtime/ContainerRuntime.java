package kurma.runtime;

import java.util.ArrayList;
import java.util.List;

/**
 * The OCI runtime over one state root: containers created from bundles (or from a config in
 * memory) with fds of the caller's, and a {@link Container} handle for each. Thread-safe: any
 * number of containers may be created, run and deleted at once, from any threads; operations on
 * one container take its lock (which also keeps other processes using the same root out).
 *
 * <p>Nothing here reads the process's environment or system properties, or installs signal
 * handlers: what the runtime needs from its caller comes in {@link RuntimeOptions} and the
 * requests.
 */
public final class ContainerRuntime {
    private final RuntimeContext ctx;

    private ContainerRuntime(RuntimeOptions options) {
        this.ctx = new RuntimeContext(new StateStore(options.root()), options);
    }

    public static ContainerRuntime open(RuntimeOptions options) {
        return new ContainerRuntime(options);
    }

    public RuntimeOptions options() {
        return ctx.options();
    }

    /**
     * Creates a container: everything is set up and its init waits for {@link Container#start()}.
     * On failure nothing is left behind: no process, cgroup, mount or state directory.
     */
    public Container create(CreateRequest request) {
        Create.Launched l = new Create(ctx, request).run();
        return new Container(ctx, request.id(), l.state(), request.foreground() ? l.stage2() : null);
    }

    /**
     * A bundle's config.json, read and checked as create reads it (a caller that needs to look at
     * the config first, a foreground CLI deciding whether to relay a terminal, passes it on with
     * {@link CreateRequest#withSpec} rather than having it read twice).
     */
    public static kurma.spec.Spec loadSpec(java.nio.file.Path bundle) {
        return Specs.load(bundle.toAbsolutePath().normalize());
    }

    /** A handle on the container id; operations on it fail with NOT_FOUND if there is none. */
    public Container container(String id) {
        StateStore.checkId(id);
        return new Container(ctx, id, null, null);
    }

    /** The states of every container (one being created too); one being deleted right now may be skipped. */
    public List<ContainerState> list() {
        List<ContainerState> out = new ArrayList<>();
        for (String id : ctx.store().ids()) {
            try {
                out.add(container(id).state());
            } catch (KurmaException gone) {
                // deleted between listing and reading
            }
        }
        return out;
    }
}
