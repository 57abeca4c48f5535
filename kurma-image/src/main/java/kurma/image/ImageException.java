package kurma.image;

/**
 * Every failure of the image library: a one-line message that names the image or file and the
 * cause ("docker.io/library/alpine:latest: manifest unknown"), so a command line can print it
 * as it is, and a reason a caller can act on (retry, ask for credentials, ...).
 */
public final class ImageException extends RuntimeException {

    /** What went wrong, coarsely. */
    public enum Reason {
        /** A reference, digest, media type or document that does not parse or is not allowed. */
        INVALID,
        /** The image, manifest, blob or name does not exist (locally or in the registry). */
        NOT_FOUND,
        /** The registry refused our credentials, or asked for some we do not have. */
        UNAUTHORIZED,
        /** Content did not hash to the digest that names it (or was not of the announced size). */
        DIGEST_MISMATCH,
        /** No manifest of an image index matches the wanted platform. */
        PLATFORM,
        /** The registry could not be reached, or answered with an error or something unexpected. */
        REGISTRY,
        /** A local file system error. */
        IO
    }

    private final Reason reason;

    public ImageException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public ImageException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    /** The same failure with {@code prefix + ": "} in front, to say which image it was about. */
    public ImageException about(String prefix) {
        if (getMessage().startsWith(prefix + ":")) return this;
        return new ImageException(reason, prefix + ": " + getMessage(), this);
    }
}
