package kurma.image.store;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import kurma.image.Descriptor;
import kurma.image.Digest;
import kurma.image.Image;

/**
 * The images index.json still names, as garbage collection sees them: what the snapshot side
 * keeps (snapshots are keyed by layer chain ids) and what it may delete.
 */
public record LiveImages(List<Image> images) {

    public LiveImages {
        images = List.copyOf(images);
    }

    /** Digests of the layer blobs (compressed, as stored). */
    public Set<Digest> layerDigests() {
        Set<Digest> out = new LinkedHashSet<>();
        for (Image i : images) {
            for (Descriptor l : i.layers()) out.add(l.digest());
        }
        return out;
    }

    /** Uncompressed layer digests. */
    public Set<Digest> diffIds() {
        Set<Digest> out = new LinkedHashSet<>();
        for (Image i : images) out.addAll(i.diffIds());
        return out;
    }

    /** Chain ids of every prefix of every image's layer stack. */
    public Set<Digest> chainIds() {
        Set<Digest> out = new LinkedHashSet<>();
        for (Image i : images) out.addAll(i.chainIds());
        return out;
    }
}
