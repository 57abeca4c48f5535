package kurma.image.store;

import java.util.List;

import kurma.image.Digest;

/** What a garbage collection removed: unreferenced blobs (and their bytes), stale downloads. */
public record GcResult(List<Digest> removedBlobs, long freedBytes, int removedPartials) {
    public GcResult {
        removedBlobs = List.copyOf(removedBlobs);
    }
}
