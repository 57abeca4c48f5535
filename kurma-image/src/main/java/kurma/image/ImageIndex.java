package kurma.image;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.spec.Json;

/** An OCI image index or Docker manifest list: one manifest per platform. */
public record ImageIndex(String mediaType, List<Descriptor> manifests, byte[] raw) implements ManifestDocument {

    public ImageIndex {
        manifests = List.copyOf(manifests);
    }

    /** A new OCI index serialized now. */
    public static ImageIndex create(List<Descriptor> manifests) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schemaVersion", 2L);
        m.put("mediaType", MediaTypes.OCI_INDEX);
        List<Object> ls = new ArrayList<>();
        for (Descriptor d : manifests) ls.add(d.toJson());
        m.put("manifests", ls);
        return new ImageIndex(MediaTypes.OCI_INDEX, manifests, Json.write(m).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The manifest for {@code wanted}: the first entry whose platform it accepts, as Docker and
     * containerd pick. Entries without a platform (attestations, or single-platform indexes
     * that omit it) are never chosen over a matching one; PLATFORM error if none matches.
     */
    public Descriptor select(Platform wanted, String where) {
        List<String> seen = new ArrayList<>();
        for (Descriptor d : manifests) {
            if (d.platform() == null) continue;
            if (!MediaTypes.isManifest(d.mediaType()) && !MediaTypes.isIndex(d.mediaType())) continue;
            if (wanted.accepts(d.platform())) return d;
            seen.add(d.platform().toString());
        }
        throw new ImageException(ImageException.Reason.PLATFORM, where + ": no image for platform " + wanted
                + (seen.isEmpty() ? "" : " (the index has " + String.join(", ", seen) + ")"));
    }

    public Digest digest() {
        return Digest.sha256(raw);
    }
}
