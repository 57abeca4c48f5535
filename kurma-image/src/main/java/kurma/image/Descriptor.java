package kurma.image;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An OCI content descriptor: what a manifest or index says about a blob it references. The
 * digest and size are checked when the blob is fetched; the rest is what the document said.
 */
public record Descriptor(String mediaType, Digest digest, long size, Platform platform,
                         Map<String, String> annotations) {

    /** The annotation that names an image in an OCI image layout's index.json. */
    public static final String REF_NAME = "org.opencontainers.image.ref.name";

    public Descriptor {
        if (mediaType == null || mediaType.isEmpty()) {
            throw new ImageException(ImageException.Reason.INVALID, "descriptor of " + digest + " has no mediaType");
        }
        if (size < 0) throw new ImageException(ImageException.Reason.INVALID, "descriptor of " + digest + " has a negative size");
        annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    }

    public Descriptor(String mediaType, Digest digest, long size) {
        this(mediaType, digest, size, null, Map.of());
    }

    public Descriptor withAnnotations(Map<String, String> a) {
        return new Descriptor(mediaType, digest, size, platform, a);
    }

    public Descriptor withPlatform(Platform p) {
        return new Descriptor(mediaType, digest, size, p, annotations);
    }

    /** The {@value #REF_NAME} annotation, or null. */
    public String refName() {
        return annotations.get(REF_NAME);
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mediaType", mediaType);
        m.put("digest", digest.toString());
        m.put("size", size);
        if (platform != null) m.put("platform", platform.toJson());
        if (!annotations.isEmpty()) m.put("annotations", new java.util.TreeMap<>(annotations));
        return m;
    }

    /** Reads a descriptor object; {@code where} names the document for error messages. */
    public static Descriptor fromJson(Object json, String where) {
        if (!(json instanceof Map<?, ?> m)) {
            throw new ImageException(ImageException.Reason.INVALID, where + ": a descriptor is not a JSON object");
        }
        Object mt = m.get("mediaType"), dg = m.get("digest"), sz = m.get("size");
        if (!(dg instanceof String d)) throw new ImageException(ImageException.Reason.INVALID, where + ": descriptor without a digest");
        if (!(sz instanceof Long size)) throw new ImageException(ImageException.Reason.INVALID, where + ": descriptor of " + d + " without an integer size");
        Map<String, String> ann = new LinkedHashMap<>();
        if (m.get("annotations") instanceof Map<?, ?> a) {
            for (Map.Entry<?, ?> e : a.entrySet()) {
                if (e.getValue() instanceof String v) ann.put(String.valueOf(e.getKey()), v);
            }
        }
        Digest digest;
        try {
            digest = Digest.parse(d);
        } catch (ImageException e) {
            throw e.about(where);
        }
        return new Descriptor(mt instanceof String s ? s : "", digest, size, Platform.fromJson(m.get("platform")), ann);
    }

    /** Reads a JSON array of descriptors (absent means empty). */
    public static List<Descriptor> listFromJson(Object json, String where) {
        if (json == null) return List.of();
        if (!(json instanceof List<?> l)) throw new ImageException(ImageException.Reason.INVALID, where + ": expected an array of descriptors");
        List<Descriptor> out = new java.util.ArrayList<>();
        for (Object o : l) out.add(fromJson(o, where));
        return List.copyOf(out);
    }
}
