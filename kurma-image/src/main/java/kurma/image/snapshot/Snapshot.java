package kurma.image.snapshot;

import java.nio.file.Path;

/**
 * One unpacked layer: its chain ID, its diff_id, the chain ID of the snapshot below it (null
 * for an image's bottom layer), and its directory; {@link #fs()} holds the layer's files in
 * overlay lower form.
 */
public record Snapshot(String chainId, String diffId, String parent, Path dir) {
    public Path fs() {
        return dir.resolve("fs");
    }
}
