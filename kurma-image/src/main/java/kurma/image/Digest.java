package kurma.image;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A content digest as the OCI image spec writes it, {@code algorithm:hex}. Only the two
 * algorithms the spec registers are accepted (sha256, sha512), with exactly their hex length
 * in lower case: a digest names a file in the store, so nothing loose may get through.
 */
public record Digest(String algorithm, String hex) implements Comparable<Digest> {

    public Digest {
        int len = switch (algorithm) {
            case "sha256" -> 64;
            case "sha512" -> 128;
            default -> throw new ImageException(ImageException.Reason.INVALID,
                    "unsupported digest algorithm \"" + algorithm + "\"");
        };
        if (hex.length() != len || !isLowerHex(hex)) {
            throw new ImageException(ImageException.Reason.INVALID,
                    "invalid " + algorithm + " digest \"" + hex + "\": expected " + len + " lower-case hex digits");
        }
    }

    /** Parses {@code sha256:<64 hex>} (or sha512); anything else is an INVALID ImageException. */
    public static Digest parse(String s) {
        int colon = s == null ? -1 : s.indexOf(':');
        if (colon <= 0) {
            throw new ImageException(ImageException.Reason.INVALID, "invalid digest \"" + s + "\": expected algorithm:hex");
        }
        return new Digest(s.substring(0, colon), s.substring(colon + 1));
    }

    /** True if {@code s} is a well-formed digest. */
    public static boolean isDigest(String s) {
        try {
            parse(s);
            return true;
        } catch (ImageException e) {
            return false;
        }
    }

    /** The sha256 digest of some bytes. */
    public static Digest sha256(byte[] bytes) {
        return new Digest("sha256", HexFormat.of().formatHex(newSha256().digest(bytes)));
    }

    /** The sha256 digest of a string's UTF-8 bytes (chain ids are digests of text). */
    public static Digest sha256(String text) {
        return sha256(text.getBytes(StandardCharsets.UTF_8));
    }

    /** A fresh hasher for this digest's algorithm. */
    public MessageDigest newHasher() {
        return hasher(algorithm);
    }

    /** The digest of what a hasher of {@code algorithm} has consumed. */
    public static Digest of(String algorithm, MessageDigest hasher) {
        return new Digest(algorithm, HexFormat.of().formatHex(hasher.digest()));
    }

    /** Whether {@code bytes} hash to this digest. */
    public boolean matches(byte[] bytes) {
        return MessageDigest.isEqual(newHasher().digest(bytes), HexFormat.of().parseHex(hex));
    }

    /** Throws a DIGEST_MISMATCH ImageException naming {@code what} unless the bytes match. */
    public void verify(byte[] bytes, String what) {
        if (!matches(bytes)) {
            throw new ImageException(ImageException.Reason.DIGEST_MISMATCH,
                    what + ": digest mismatch: expected " + this + ", got " + of(algorithm, hashed(bytes)));
        }
    }

    private MessageDigest hashed(byte[] bytes) {
        MessageDigest md = newHasher();
        md.update(bytes);
        return md;
    }

    /** A fresh hasher for "sha256" or "sha512". */
    public static MessageDigest hasher(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm.equals("sha256") ? "SHA-256" : "SHA-512");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks " + algorithm, e);
        }
    }

    private static MessageDigest newSha256() {
        return hasher("sha256");
    }

    private static boolean isLowerHex(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
        }
        return true;
    }

    /** The 12-character short form, as {@code docker images} shows ids. */
    public String shortHex() {
        return hex.substring(0, 12);
    }

    @Override
    public int compareTo(Digest o) {
        int c = algorithm.compareTo(o.algorithm);
        return c != 0 ? c : hex.compareTo(o.hex);
    }

    @Override
    public String toString() {
        return algorithm + ":" + hex;
    }

    // Written out, not generated: a record's equals and hashCode are bound on first use by an
    // invokedynamic bootstrap that spins classes at run time, which the AOT cache cannot hold;
    // bin/kurma compares digests in nearly every command and paid some milliseconds for it.
    @Override
    public boolean equals(Object o) {
        return o instanceof Digest d && algorithm.equals(d.algorithm) && hex.equals(d.hex);
    }

    @Override
    public int hashCode() {
        return 31 * algorithm.hashCode() + hex.hashCode();
    }
}
