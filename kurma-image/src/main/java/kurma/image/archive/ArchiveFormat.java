package kurma.image.archive;

import kurma.image.ImageException;

/** The tarball formats images move in and out of the store as, named as skopeo names them. */
public enum ArchiveFormat {
    /** What {@code docker save} writes: manifest.json, config files, one layer.tar per layer. */
    DOCKER_ARCHIVE("docker-archive"),
    /** An OCI image layout in a tar: oci-layout, index.json, blobs/. */
    OCI_ARCHIVE("oci-archive");

    private final String id;

    ArchiveFormat(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static ArchiveFormat parse(String s) {
        for (ArchiveFormat f : values()) {
            if (f.id.equals(s)) return f;
        }
        throw new ImageException(ImageException.Reason.INVALID, "unknown archive format \"" + s + "\": use docker-archive or oci-archive");
    }
}
