package kurma.image.testing;

import java.nio.file.Path;

import kurma.image.Platform;
import kurma.image.store.ImageStore;

/** Run in a second JVM by the concurrency test: names COUNT images PREFIX-0.. in the store at ARG0. */
public final class StoreWriter {
    public static void main(String[] args) {
        ImageStore store = ImageStore.open(Path.of(args[0]));
        int count = Integer.parseInt(args[2]);
        for (int i = 0; i < count; i++) {
            TestImage img = TestImage.small(new Platform("linux", "amd64", null), args[1] + i);
            img.putInto(store.content());
            store.addImage(img.manifest, "localhost/" + args[1] + ":" + i);
        }
    }
}
