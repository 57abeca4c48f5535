package kurma.image;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import kurma.spec.Json;
import kurma.spec.JsonException;

/**
 * A document a manifest reference resolves to: one image's manifest, or an index (manifest
 * list) of them per platform. The raw bytes are kept: they are what the digest names, and
 * re-serializing would change it.
 */
public sealed interface ManifestDocument permits ImageManifest, ImageIndex {

    String mediaType();

    byte[] raw();

    /**
     * Parses a manifest or index. The media type comes from the document's own mediaType field
     * or, when absent (it is optional in OCI), from {@code contentType} (the HTTP Content-Type or
     * the descriptor that pointed here); a document with "manifests" is an index, one with
     * "layers" a manifest.
     */
    static ManifestDocument parse(byte[] raw, String contentType, String where) {
        Map<?, ?> m = object(raw, where);
        String mt = m.get("mediaType") instanceof String s ? s : null;
        if (mt == null && contentType != null) {
            int semi = contentType.indexOf(';');
            mt = (semi >= 0 ? contentType.substring(0, semi) : contentType).trim();
        }
        if (Long.valueOf(1).equals(m.get("schemaVersion")) || MediaTypes.DOCKER_SCHEMA1.equals(mt)
                || "application/vnd.docker.distribution.manifest.v1+json".equals(mt)) {
            throw new ImageException(ImageException.Reason.INVALID,
                    where + ": Docker schema 1 manifests are not supported (the image needs re-pushing)");
        }
        if (!MediaTypes.isIndex(mt) && !MediaTypes.isManifest(mt)) {
            if (m.containsKey("manifests")) mt = MediaTypes.OCI_INDEX;
            else if (m.containsKey("layers")) mt = MediaTypes.OCI_MANIFEST;
            else throw new ImageException(ImageException.Reason.INVALID, where + ": unsupported manifest media type \"" + mt + "\"");
        }
        if (MediaTypes.isIndex(mt)) {
            return new ImageIndex(mt, Descriptor.listFromJson(m.get("manifests"), where), raw);
        }
        Descriptor config = Descriptor.fromJson(m.get("config"), where);
        return new ImageManifest(mt, config, Descriptor.listFromJson(m.get("layers"), where), annotations(m), raw);
    }

    private static Map<String, String> annotations(Map<?, ?> m) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        if (m.get("annotations") instanceof Map<?, ?> a) {
            for (Map.Entry<?, ?> e : a.entrySet()) {
                if (e.getValue() instanceof String v) out.put(String.valueOf(e.getKey()), v);
            }
        }
        return out;
    }

    /** Parses JSON bytes that must be an object; INVALID naming {@code where} otherwise. */
    static Map<?, ?> object(byte[] raw, String where) {
        Object o;
        try {
            o = Json.parse(new String(raw, StandardCharsets.UTF_8));
        } catch (JsonException e) {
            throw new ImageException(ImageException.Reason.INVALID, where + ": bad JSON: " + e.getMessage(), e);
        }
        if (!(o instanceof Map<?, ?> m)) throw new ImageException(ImageException.Reason.INVALID, where + ": not a JSON object");
        return m;
    }
}
