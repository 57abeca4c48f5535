package kurma.image.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.image.Descriptor;
import kurma.image.ImageException;
import kurma.image.ManifestDocument;
import kurma.image.MediaTypes;
import kurma.spec.Json;

/**
 * The layout's {@code index.json}: the list of named (and unnamed) images, which is the root of
 * everything garbage collection keeps. Replaced whole and atomically (temp file, fsync,
 * rename, directory fsync); only writers holding the store lock replace it.
 */
final class IndexFile {
    private final Path file;

    IndexFile(Path layout) {
        this.file = layout.resolve("index.json");
    }

    /** Creates the layout's oci-layout and an empty index.json if they are missing. */
    static void init(Path layout) throws IOException {
        Files.createDirectories(layout.resolve("blobs/sha256"));
        Path ol = layout.resolve("oci-layout");
        if (!Files.exists(ol)) writeAtomically(ol, "{\"imageLayoutVersion\":\"1.0.0\"}");
        IndexFile idx = new IndexFile(layout);
        if (!Files.exists(idx.file)) idx.write(List.of());
    }

    List<Descriptor> read() {
        byte[] raw;
        try {
            raw = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.IO, "cannot read " + file + ": " + e.getMessage(), e);
        }
        ManifestDocument doc;
        try {
            doc = ManifestDocument.parse(raw, MediaTypes.OCI_INDEX, file.toString());
        } catch (ImageException e) {
            throw new ImageException(ImageException.Reason.IO, "the store's " + file + " is damaged: " + e.getMessage(), e);
        }
        if (!(doc instanceof kurma.image.ImageIndex index)) {
            throw new ImageException(ImageException.Reason.IO, "the store's " + file + " is not an image index");
        }
        return index.manifests();
    }

    void write(List<Descriptor> entries) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schemaVersion", 2L);
        m.put("mediaType", MediaTypes.OCI_INDEX);
        List<Object> l = new ArrayList<>();
        for (Descriptor d : entries) l.add(d.toJson());
        m.put("manifests", l);
        writeAtomically(file, Json.writePretty(m));
    }

    static void writeAtomically(Path target, String content) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer b = ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
                while (b.hasRemaining()) ch.write(b);
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            Fsync.dir(target.getParent());
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
