package kurma.image;

import java.util.ArrayList;
import java.util.List;

/**
 * An image in the store, resolved for one platform: its name (null when it has none, e.g. an
 * import without tags), the manifest that was resolved, the parsed config, and the layers in
 * order with their uncompressed digests (diff_ids) from the config.
 *
 * @param name       the full normalized name it was found under, or null
 * @param manifest   descriptor of the image manifest (its digest is the "manifest digest")
 * @param config     descriptor of the config blob; its digest is the image id, as Docker shows it
 */
public record Image(String name, Descriptor manifest, Descriptor config, ImageConfig imageConfig,
                    List<Descriptor> layers) {

    public Image {
        layers = List.copyOf(layers);
        if (imageConfig.diffIds().size() != layers.size()) {
            throw new ImageException(ImageException.Reason.INVALID, (name != null ? name : manifest.digest().toString())
                    + ": the manifest has " + layers.size() + " layers but the config " + imageConfig.diffIds().size()
                    + " diff_ids");
        }
    }

    public Digest manifestDigest() {
        return manifest.digest();
    }

    /** The image id: its config's digest. */
    public Digest id() {
        return config.digest();
    }

    public List<Digest> diffIds() {
        return imageConfig.diffIds();
    }

    /**
     * Chain ids of the layers (OCI image spec, "Layer ChainID"): the first is the first diff_id,
     * each next one sha256("previous-chain-id diff_id"). They name a stack of layers, which is
     * what an unpacked snapshot is.
     */
    public List<Digest> chainIds() {
        return chainIds(diffIds());
    }

    public static List<Digest> chainIds(List<Digest> diffIds) {
        List<Digest> out = new ArrayList<>();
        Digest prev = null;
        for (Digest d : diffIds) {
            prev = prev == null ? d : Digest.sha256(prev + " " + d);
            out.add(prev);
        }
        return List.copyOf(out);
    }
}
