package kurma.image.unpack;

/**
 * Bounds on what one layer may expand to, so that a small compressed blob (a "decompression
 * bomb") cannot fill the disk or exhaust inodes: the uncompressed tar size in bytes and the
 * number of entries. Exceeding either is an error and nothing of the layer is kept.
 */
public record UnpackLimits(long maxBytes, long maxEntries) {
    /** 64 GiB and 4 million entries: well above real images (the largest are tens of GB). */
    public static final UnpackLimits DEFAULT = new UnpackLimits(64L << 30, 4_000_000);

    public UnpackLimits {
        if (maxBytes <= 0 || maxEntries <= 0) throw new IllegalArgumentException("limits must be positive");
    }
}
