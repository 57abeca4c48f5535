package kurma.image;

/** The media types of the OCI image spec and Docker's image manifest v2 schema 2. */
public final class MediaTypes {
    private MediaTypes() {}

    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    public static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
    public static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
    public static final String OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
    public static final String OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";

    public static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
    public static final String DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar";
    public static final String DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public static final String DOCKER_FOREIGN_LAYER_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    /** Docker's first manifest format: refused, as current Docker does. */
    public static final String DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws";

    /** What a registry is asked for: the four kinds Kurma reads. */
    public static final String ACCEPT_MANIFESTS = OCI_INDEX + ", " + OCI_MANIFEST + ", " + DOCKER_MANIFEST_LIST + ", "
            + DOCKER_MANIFEST;

    public static boolean isIndex(String mediaType) {
        return OCI_INDEX.equals(mediaType) || DOCKER_MANIFEST_LIST.equals(mediaType);
    }

    public static boolean isManifest(String mediaType) {
        return OCI_MANIFEST.equals(mediaType) || DOCKER_MANIFEST.equals(mediaType);
    }

    /** How a layer blob is compressed, from its media type. */
    public enum Compression {
        NONE, GZIP, ZSTD;

        /** The compression a layer media type announces; INVALID for a type that is no layer we read. */
        public static Compression ofLayer(String mediaType) {
            return switch (mediaType) {
                case OCI_LAYER, DOCKER_LAYER -> NONE;
                case OCI_LAYER_GZIP, OCI_LAYER_NONDIST_GZIP, DOCKER_LAYER_GZIP, DOCKER_FOREIGN_LAYER_GZIP -> GZIP;
                case OCI_LAYER_ZSTD -> ZSTD;
                default -> throw new ImageException(ImageException.Reason.INVALID,
                        "unsupported layer media type \"" + mediaType + "\"");
            };
        }

        /** What the first bytes of a blob say (gzip and zstd have magic numbers; a tar has none). */
        public static Compression sniff(byte[] head, int len) {
            if (len >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) return GZIP;
            if (len >= 4 && (head[0] & 0xff) == 0x28 && (head[1] & 0xff) == 0xb5 && (head[2] & 0xff) == 0x2f
                    && (head[3] & 0xff) == 0xfd) {
                return ZSTD;
            }
            return NONE;
        }

        /** The OCI layer media type of this compression. */
        public String ociLayerType() {
            return switch (this) {
                case NONE -> OCI_LAYER;
                case GZIP -> OCI_LAYER_GZIP;
                case ZSTD -> OCI_LAYER_ZSTD;
            };
        }
    }
}
