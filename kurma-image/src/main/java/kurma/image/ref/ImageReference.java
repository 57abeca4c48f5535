package kurma.image.ref;

import java.util.Locale;
import java.util.regex.Pattern;

import kurma.image.Digest;
import kurma.image.ImageException;

/**
 * An image reference normalized as Docker normalizes it (distribution's reference package):
 * {@code alpine} is {@code docker.io/library/alpine:latest}; the first path component is a
 * registry host if it has a dot or a colon, is {@code localhost}, or has upper case letters;
 * repository components are lower case; a reference without tag or digest gets
 * {@code :latest}; a 64-hex-digit name is refused (it would be mistaken for an image id).
 *
 * @param registry   host[:port] as written (docker.io for Docker Hub)
 * @param repository the path, e.g. {@code library/alpine}
 * @param tag        the tag, or null when the reference has only a digest
 * @param digest     the digest, or null
 */
public record ImageReference(String registry, String repository, String tag, Digest digest) {

    public static final String DOCKER_HUB = "docker.io";
    public static final String DEFAULT_TAG = "latest";

    // Docker's grammar (distribution/reference/regexp.go), written out for the parts we check.
    private static final String DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    private static final Pattern DOMAIN = Pattern.compile(
            "(?:" + DOMAIN_COMPONENT + "(?:\\." + DOMAIN_COMPONENT + ")*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?");
    private static final Pattern PATH_COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    private static final Pattern HEX64 = Pattern.compile("[a-f0-9]{64}");
    private static final int NAME_TOTAL_LENGTH_MAX = 255;

    public ImageReference {
        if (tag == null && digest == null) tag = DEFAULT_TAG;
    }

    /** Parses and normalizes; an INVALID ImageException with Docker's wording otherwise. */
    public static ImageReference parse(String s) {
        if (s == null || s.isEmpty()) throw invalid(s, "empty reference");
        if (HEX64.matcher(s).matches()) {
            throw invalid(s, "cannot specify 64-byte hexadecimal strings as a repository name");
        }
        String domain, rest;
        int slash = s.indexOf('/');
        String first = slash < 0 ? "" : s.substring(0, slash);
        if (slash < 0 || (first.indexOf('.') < 0 && first.indexOf(':') < 0 && !first.equals("localhost")
                && first.toLowerCase(Locale.ROOT).equals(first))) {
            domain = DOCKER_HUB;
            rest = s;
        } else {
            domain = first;
            rest = s.substring(slash + 1);
        }
        if (domain.equals("index.docker.io")) domain = DOCKER_HUB;

        Digest digest = null;
        int at = rest.indexOf('@');
        if (at >= 0) {
            try {
                digest = Digest.parse(rest.substring(at + 1));
            } catch (ImageException e) {
                throw invalid(s, "invalid digest: " + e.getMessage());
            }
            rest = rest.substring(0, at);
        }
        String tag = null;
        int colon = rest.lastIndexOf(':');
        if (colon >= 0 && colon > rest.lastIndexOf('/')) {
            tag = rest.substring(colon + 1);
            rest = rest.substring(0, colon);
            if (!TAG.matcher(tag).matches()) throw invalid(s, "invalid tag \"" + tag + "\"");
        }
        if (!rest.toLowerCase(Locale.ROOT).equals(rest)) throw invalid(s, "repository name must be lowercase");
        if (domain.equals(DOCKER_HUB) && rest.indexOf('/') < 0) rest = "library/" + rest;

        if (!DOMAIN.matcher(domain).matches()) throw invalid(s, "invalid registry host \"" + domain + "\"");
        if (rest.isEmpty()) throw invalid(s, "empty repository name");
        for (String component : rest.split("/", -1)) {
            if (!PATH_COMPONENT.matcher(component).matches()) {
                throw invalid(s, "invalid repository path component \"" + component + "\"");
            }
        }
        if (domain.length() + 1 + rest.length() > NAME_TOTAL_LENGTH_MAX) {
            throw invalid(s, "repository name must not be more than " + NAME_TOTAL_LENGTH_MAX + " characters");
        }
        return new ImageReference(domain, rest, tag, digest);
    }

    private static ImageException invalid(String s, String why) {
        return new ImageException(ImageException.Reason.INVALID, "invalid reference \"" + s + "\": " + why);
    }

    /** registry/repository, without tag or digest. */
    public String name() {
        return registry + "/" + repository;
    }

    /** The host to talk the distribution API to: Docker Hub's API lives on another host. */
    public String apiHost() {
        return registry.equals(DOCKER_HUB) ? "registry-1.docker.io" : registry;
    }

    /** What to ask the registry's manifests endpoint for: the digest if any, else the tag. */
    public String manifestReference() {
        return digest != null ? digest.toString() : tag;
    }

    public ImageReference withTag(String newTag) {
        return parse(name() + ":" + newTag);
    }

    public ImageReference withDigest(Digest d) {
        return new ImageReference(registry, repository, null, d);
    }

    /** Whether the registry is on this machine (Docker lets those use plain HTTP). */
    public boolean isLoopback() {
        String host = registry;
        if (host.startsWith("[")) host = host.substring(1, host.indexOf(']'));
        else if (host.indexOf(':') >= 0) host = host.substring(0, host.indexOf(':'));
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
    }

    /** The short form Docker prints: {@code alpine:latest}, {@code user/app:1}, others in full. */
    public String familiar() {
        String n = registry.equals(DOCKER_HUB)
                ? (repository.startsWith("library/") && repository.indexOf('/', 8) < 0 ? repository.substring(8) : repository)
                : name();
        return n + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
    }

    /** The full normalized form: {@code docker.io/library/alpine:latest}, with {@code @digest} if any. */
    @Override
    public String toString() {
        return name() + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
    }
}
