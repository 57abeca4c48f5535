package kurma.image.unpack;

/**
 * What is known about a layer before reading it: its media type, the digest of the blob as
 * stored (compressed), and its diff_id (the digest of the uncompressed tar, from the image
 * config). Each may be null, then it is not checked; both are checked when given.
 */
public record LayerBlob(String mediaType, String digest, String diffId) {}
