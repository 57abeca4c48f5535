package kurma.image.unpack;

/**
 * What unpacking a layer found: the blob's digest, its diff_id (sha256 of the uncompressed
 * tar), the compression, the number of tar entries and the uncompressed size in bytes.
 */
public record UnpackResult(String digest, String diffId, Compression compression, long entries, long uncompressedBytes) {}
