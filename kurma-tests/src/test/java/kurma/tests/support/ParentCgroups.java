package kurma.tests.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The kurma/ parent cgroup in each hierarchy. Kurma keeps it once made (as Docker keeps
 * docker/), so a test class that found none removes, at its end, the ones its containers
 * left, once they are empty; one that was there before is not the tests' to remove.
 */
public final class ParentCgroups {
    private final List<Path> absent = new ArrayList<>();

    private ParentCgroups() {}

    /** Notes which hierarchies have no kurma/ now. */
    public static ParentCgroups snapshot() throws IOException {
        ParentCgroups p = new ParentCgroups();
        for (Path mount : Cgroups.mountPoints()) {
            Path k = mount.resolve("kurma");
            if (!Files.exists(k)) p.absent.add(k);
        }
        return p;
    }

    /** Removes the kurma/ dirs that were absent at the snapshot and are empty now. */
    public void removeMade() {
        for (Path k : absent) {
            try {
                Files.deleteIfExists(k);
            } catch (java.nio.file.FileSystemException inUse) {
                // a container (not ours to judge) is still in it: EBUSY
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }
}
