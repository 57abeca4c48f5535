package kurma.image;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.spec.Json;

/** One image's manifest (OCI or Docker schema 2): its config blob and its ordered layers. */
public record ImageManifest(String mediaType, Descriptor config, List<Descriptor> layers,
                            Map<String, String> annotations, byte[] raw) implements ManifestDocument {

    public ImageManifest {
        layers = List.copyOf(layers);
        annotations = Map.copyOf(annotations);
    }

    /** A new OCI manifest serialized now (for images Kurma assembles: imports, tests). */
    public static ImageManifest create(Descriptor config, List<Descriptor> layers) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schemaVersion", 2L);
        m.put("mediaType", MediaTypes.OCI_MANIFEST);
        m.put("config", config.toJson());
        List<Object> ls = new ArrayList<>();
        for (Descriptor d : layers) ls.add(d.toJson());
        m.put("layers", ls);
        byte[] raw = Json.write(m).getBytes(StandardCharsets.UTF_8);
        return new ImageManifest(MediaTypes.OCI_MANIFEST, config, layers, Map.of(), raw);
    }

    public Digest digest() {
        return Digest.sha256(raw);
    }

    public Descriptor descriptor() {
        return new Descriptor(mediaType, digest(), raw.length);
    }
}
