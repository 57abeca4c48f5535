package kurma.image.registry;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import kurma.image.ImageException;
import kurma.spec.Json;
import kurma.spec.JsonException;

/**
 * A user name and password for a registry: given on the command line ({@code --creds
 * user:pass}) or found in an auth file, Docker's {@code ~/.docker/config.json} or podman's
 * {@code auth.json} ({@code $REGISTRY_AUTH_FILE}); both keep {@code auths.KEY.auth} =
 * base64("user:pass"). Credential helpers ({@code credsStore}) are not consulted.
 */
public record Credentials(String username, String password) {

    public Credentials {
        if (username == null || username.isEmpty()) {
            throw new ImageException(ImageException.Reason.INVALID, "credentials need a user name");
        }
        if (password == null) password = "";
    }

    /** Parses {@code user:password} (the password may contain colons; it may be empty). */
    public static Credentials parse(String userColonPass) {
        int colon = userColonPass.indexOf(':');
        if (colon <= 0) {
            throw new ImageException(ImageException.Reason.INVALID, "invalid credentials: expected user:password");
        }
        return new Credentials(userColonPass.substring(0, colon), userColonPass.substring(colon + 1));
    }

    /** The value of an HTTP Basic Authorization header. */
    String basicHeader() {
        return "Basic " + Base64.getEncoder().encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
        return "Credentials[" + username + ", password hidden]";
    }

    /**
     * The auth files to look in, in podman's order: {@code $REGISTRY_AUTH_FILE} first, then
     * Docker's {@code $DOCKER_CONFIG/config.json} or {@code ~/.docker/config.json}.
     */
    public static List<Path> defaultAuthFiles(Map<String, String> env, Path home) {
        List<Path> out = new ArrayList<>();
        String raf = env.get("REGISTRY_AUTH_FILE");
        if (raf != null && !raf.isEmpty()) out.add(Path.of(raf));
        String dc = env.get("DOCKER_CONFIG");
        if (dc != null && !dc.isEmpty()) out.add(Path.of(dc, "config.json"));
        else if (home != null) out.add(home.resolve(".docker/config.json"));
        return out;
    }

    /** The default files of this process's environment and user. */
    public static List<Path> defaultAuthFiles() {
        return defaultAuthFiles(System.getenv(), Path.of(System.getProperty("user.home", "/root")));
    }

    /**
     * Credentials for {@code registry/repository} from the first file that has some: the most
     * specific key wins within a file ({@code host/ns/repo}, then {@code host/ns}, then
     * {@code host}), with Docker's URL forms ({@code https://host/v1/}) read as their host.
     * Null if none has any; INVALID if a file is not valid JSON or a value not valid base64.
     */
    public static Credentials lookup(List<Path> files, String registry, String repository) {
        for (Path f : files) {
            Map<?, ?> auths = auths(f);
            if (auths == null) continue;
            Credentials c = lookupIn(auths, registry, repository, f);
            if (c != null) return c;
        }
        return null;
    }

    private static Map<?, ?> auths(Path f) {
        String text;
        try {
            text = Files.readString(f);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.IO, "cannot read " + f + ": " + e.getMessage(), e);
        }
        try {
            return Json.parse(text) instanceof Map<?, ?> m && m.get("auths") instanceof Map<?, ?> a ? a : null;
        } catch (JsonException e) {
            throw new ImageException(ImageException.Reason.INVALID, f + ": bad JSON: " + e.getMessage(), e);
        }
    }

    private static Credentials lookupIn(Map<?, ?> auths, String registry, String repository, Path f) {
        List<String> wanted = new ArrayList<>();
        String path = registry + "/" + repository;
        while (true) {
            wanted.add(path);
            int slash = path.lastIndexOf('/');
            if (slash < 0) break;
            path = path.substring(0, slash);
        }
        if (registry.equals("docker.io")) {
            wanted.add("index.docker.io");
            wanted.add("registry-1.docker.io");
        }
        for (String w : wanted) {
            for (Map.Entry<?, ?> e : auths.entrySet()) {
                if (normalizeKey(String.valueOf(e.getKey())).equals(w)
                        && e.getValue() instanceof Map<?, ?> entry) {
                    Credentials c = decode(entry, f, String.valueOf(e.getKey()));
                    if (c != null) return c;
                }
            }
        }
        return null;
    }

    /** Docker writes URLs ("https://index.docker.io/v1/"): only the host counts in those. */
    private static String normalizeKey(String key) {
        String k = key;
        if (k.startsWith("http://") || k.startsWith("https://")) {
            k = k.substring(k.indexOf("://") + 3);
            int slash = k.indexOf('/');
            if (slash >= 0) k = k.substring(0, slash);
        }
        while (k.endsWith("/")) k = k.substring(0, k.length() - 1);
        return k;
    }

    private static Credentials decode(Map<?, ?> entry, Path f, String key) {
        if (entry.get("auth") instanceof String a && !a.isEmpty()) {
            String plain;
            try {
                plain = new String(Base64.getDecoder().decode(a.trim()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new ImageException(ImageException.Reason.INVALID, f + ": auths." + key + ".auth is not base64");
            }
            try {
                return parse(plain);
            } catch (ImageException e) {
                throw new ImageException(ImageException.Reason.INVALID, f + ": auths." + key + ".auth is not user:password");
            }
        }
        if (entry.get("username") instanceof String u && !u.isEmpty()) {
            return new Credentials(u, entry.get("password") instanceof String p ? p : "");
        }
        return null;
    }
}
