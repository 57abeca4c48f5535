package kurma.image;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An image platform (os, architecture, optional variant) in the OCI/Go vocabulary: linux,
 * amd64, arm64, arm/v7... Used to pick one manifest out of an image index.
 */
public record Platform(String os, String architecture, String variant) {

    public Platform {
        if (os == null || os.isEmpty() || architecture == null || architecture.isEmpty()) {
            throw new ImageException(ImageException.Reason.INVALID, "a platform needs an os and an architecture");
        }
        if (variant != null && variant.isEmpty()) variant = null;
    }

    /**
     * Parses {@code os/arch[/variant]} as {@code --platform} takes it; {@code arch} alone means
     * linux/arch.
     */
    public static Platform parse(String s) {
        String[] parts = s.split("/", -1);
        for (String p : parts) {
            if (p.isEmpty() || !p.equals(p.toLowerCase(java.util.Locale.ROOT))) {
                throw new ImageException(ImageException.Reason.INVALID,
                        "invalid platform \"" + s + "\": expected os/arch[/variant] in lower case");
            }
        }
        return switch (parts.length) {
            case 1 -> new Platform("linux", normalizeArch(parts[0]), null);
            case 2 -> new Platform(parts[0], normalizeArch(parts[1]), null);
            case 3 -> new Platform(parts[0], normalizeArch(parts[1]), parts[2]);
            default -> throw new ImageException(ImageException.Reason.INVALID,
                    "invalid platform \"" + s + "\": expected os/arch[/variant]");
        };
    }

    /** The platform this JVM runs on, in Go's names (amd64, arm64...). */
    public static Platform host() {
        String os = System.getProperty("os.name", "linux").toLowerCase(java.util.Locale.ROOT);
        return new Platform(os.startsWith("linux") ? "linux" : os, normalizeArch(System.getProperty("os.arch")), null);
    }

    /** Java's and uname's architecture names mapped to Go's, which images use. */
    static String normalizeArch(String arch) {
        return switch (arch) {
            case "x86_64", "x86-64", "amd64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            case "i386", "i686", "x86" -> "386";
            default -> arch;
        };
    }

    /**
     * Whether an image of platform {@code candidate} can serve a request for this one: same os
     * and architecture, and the same variant if this one names a variant (arm64's only variant
     * is v8, so an empty one and v8 are the same there).
     */
    public boolean accepts(Platform candidate) {
        if (!os.equals(candidate.os) || !architecture.equals(candidate.architecture)) return false;
        if (variant == null) return true;
        return normalizedVariant().equals(candidate.normalizedVariant());
    }

    private String normalizedVariant() {
        if (variant == null) {
            return switch (architecture) {
                case "arm64" -> "v8";
                case "arm" -> "v7";
                default -> "";
            };
        }
        return variant;
    }

    /** The OCI descriptor's platform object. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architecture", architecture);
        m.put("os", os);
        if (variant != null) m.put("variant", variant);
        return m;
    }

    /** Reads a descriptor's platform object; null if absent or incomplete. */
    public static Platform fromJson(Object json) {
        if (!(json instanceof Map<?, ?> m)) return null;
        Object os = m.get("os"), arch = m.get("architecture"), variant = m.get("variant");
        if (!(os instanceof String o) || !(arch instanceof String a) || o.isEmpty() || a.isEmpty()) return null;
        return new Platform(o, a, variant instanceof String v ? v : null);
    }

    @Override
    public String toString() {
        return os + "/" + architecture + (variant == null ? "" : "/" + variant);
    }
}
