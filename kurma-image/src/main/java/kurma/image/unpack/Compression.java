package kurma.image.unpack;

import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;

import io.airlift.compress.v3.zstd.ZstdInputStream;

/**
 * How a layer blob is compressed. The content's magic bytes decide, as containerd and
 * containers/image decide: registries and archives have been seen to label layers wrongly,
 * and the magic bytes cannot lie about which decoder can read them. The media type is only
 * checked to be a layer type (a config blob, an encrypted layer or an unknown type is refused).
 */
public enum Compression {
    NONE, GZIP, ZSTD;

    /** The compression the first bytes of a blob show (fewer than 4 bytes: none). */
    public static Compression detect(byte[] head, int len) {
        if (len >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) return GZIP;
        if (len >= 4 && (head[0] & 0xff) == 0x28 && (head[1] & 0xff) == 0xb5 && (head[2] & 0xff) == 0x2f
                && (head[3] & 0xff) == 0xfd) {
            return ZSTD;
        }
        return NONE;
    }

    /**
     * The compression a layer media type declares, or null for none given. OCI and Docker
     * layer types, distributable or not; anything else is not a layer this unpacker can read.
     */
    public static Compression ofMediaType(String mediaType) throws LayerException {
        if (mediaType == null) return null;
        return switch (mediaType) {
            case "application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.nondistributable.v1.tar",
                    "application/vnd.docker.image.rootfs.diff.tar" -> NONE;
            case "application/vnd.oci.image.layer.v1.tar+gzip",
                    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                    "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" -> GZIP;
            case "application/vnd.oci.image.layer.v1.tar+zstd",
                    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" -> ZSTD;
            default -> throw new LayerException("unsupported layer media type " + mediaType);
        };
    }

    /** The uncompressed stream over {@code in}. */
    public InputStream decompress(InputStream in) throws IOException {
        return switch (this) {
            case NONE -> in;
            case GZIP -> new GZIPInputStream(in, 65536);
            case ZSTD -> new ZstdInputStream(in);
        };
    }
}
