package kurma.image.registry;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

import kurma.image.Descriptor;
import kurma.image.Digest;
import kurma.image.ImageException;
import kurma.image.MediaTypes;
import kurma.image.ref.ImageReference;
import kurma.spec.Json;

/**
 * A client of one repository of a registry, speaking the OCI distribution API over
 * java.net.http: manifests and blobs down, blobs and manifests up. It answers the registry's
 * auth challenges itself (anonymous, Basic, or a Bearer token fetched from the realm the
 * challenge names, with the credentials if there are any) and follows redirects by hand so
 * that credentials never go to another host (blob downloads are often redirected to storage).
 *
 * <p>Network failures and 5xx/429 answers are IOExceptions (worth retrying); everything the
 * registry said no to is an ImageException with the registry's own message.
 */
public final class RegistryClient implements AutoCloseable {
    /** Manifests are small; a bigger one is an attack or a mistake (containerd uses the same limit). */
    static final int MAX_MANIFEST = 4 << 20;
    private static final int MAX_REDIRECTS = 10;

    private final ImageReference ref;
    private final RegistryOptions options;
    private final Credentials credentials;
    private final boolean push;
    private final HttpClient http;
    private final Object lock = new Object();
    private URI base; // scheme://host[:port], settled on first use
    private String authorization; // the Authorization header value that works, or null (anonymous)

    private RegistryClient(ImageReference ref, RegistryOptions options, boolean push) {
        this.ref = ref;
        this.options = options;
        this.credentials = options.credentialsFor(ref.registry(), ref.repository());
        this.push = push;
        HttpClient.Builder b = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(options.timeout());
        if (!options.tlsVerify()) b.sslContext(trustAll());
        this.http = b.build();
    }

    /** A client that may read {@code ref}'s repository. */
    public static RegistryClient forPull(ImageReference ref, RegistryOptions options) {
        return new RegistryClient(ref, options, false);
    }

    /** A client that may read and write {@code ref}'s repository. */
    public static RegistryClient forPush(ImageReference ref, RegistryOptions options) {
        return new RegistryClient(ref, options, true);
    }

    public ImageReference reference() {
        return ref;
    }

    /** A manifest or index as the registry sent it. */
    public record ManifestBytes(byte[] raw, String contentType) {}

    /** GET a manifest by tag or digest; NOT_FOUND if the registry has none. */
    public ManifestBytes getManifest(String reference) throws IOException {
        HttpResponse<InputStream> r = send("GET", "manifests/" + reference,
                Map.of("Accept", MediaTypes.ACCEPT_MANIFESTS), null, -1);
        try (InputStream in = r.body()) {
            if (r.statusCode() != 200) throw failure(r, in, "manifest " + reference);
            byte[] raw = in.readNBytes(MAX_MANIFEST + 1);
            if (raw.length > MAX_MANIFEST) {
                throw new ImageException(ImageException.Reason.INVALID, "manifest " + reference + " is larger than 4 MiB");
            }
            return new ManifestBytes(raw, r.headers().firstValue("Content-Type").orElse(null));
        }
    }

    /** An open blob download: 200 (whole blob) or 206 (from {@code offset}). */
    public record BlobResponse(int status, InputStream body, long contentLength) {}

    /**
     * GET a blob, from byte {@code offset} on if it is not 0 (HTTP Range). The status says
     * whether the server honoured the range (206) or sends it all (200); 416 comes back too
     * (the range is past the end: start again). NOT_FOUND for an unknown blob.
     */
    public BlobResponse getBlob(Digest digest, long offset) throws IOException {
        Map<String, String> h = offset > 0 ? Map.of("Range", "bytes=" + offset + "-") : Map.of();
        HttpResponse<InputStream> r = send("GET", "blobs/" + digest, h, null, -1);
        int s = r.statusCode();
        if (s == 200 || s == 206 || s == 416) {
            if (s == 416) r.body().close();
            return new BlobResponse(s, r.body(), r.headers().firstValueAsLong("Content-Length").orElse(-1));
        }
        try (InputStream in = r.body()) {
            throw failure(r, in, "blob " + digest);
        }
    }

    /** HEAD a blob: does the repository have it? */
    public boolean hasBlob(Digest digest) throws IOException {
        HttpResponse<InputStream> r = send("HEAD", "blobs/" + digest, Map.of(), null, -1);
        try (InputStream in = r.body()) {
            if (r.statusCode() == 200) return true;
            if (r.statusCode() == 404) return false;
            throw failure(r, in, "blob " + digest);
        }
    }

    /** Uploads a blob in one PUT (POST to open the upload session, then PUT ?digest=). */
    public void putBlob(Descriptor blob, Supplier<InputStream> content) throws IOException {
        HttpResponse<InputStream> r = send("POST", "blobs/uploads/", Map.of(), null, 0);
        String location;
        try (InputStream in = r.body()) {
            if (r.statusCode() != 202) throw failure(r, in, "upload of " + blob.digest());
            location = r.headers().firstValue("Location").orElseThrow(() ->
                    new ImageException(ImageException.Reason.REGISTRY, "upload of " + blob.digest() + ": no Location"));
        }
        URI upload = r.uri().resolve(location);
        String q = upload.getRawQuery();
        URI put = URI.create(upload.toString() + (q == null ? "?" : "&") + "digest="
                + URLEncoder.encode(blob.digest().toString(), StandardCharsets.UTF_8));
        HttpResponse<InputStream> p = sendTo("PUT", put, Map.of("Content-Type", "application/octet-stream"),
                content, blob.size());
        try (InputStream in = p.body()) {
            if (p.statusCode() != 201) throw failure(p, in, "upload of " + blob.digest());
        }
    }

    /** PUT a manifest or index under a tag or digest. */
    public void putManifest(String reference, String mediaType, byte[] raw) throws IOException {
        HttpResponse<InputStream> r = send("PUT", "manifests/" + reference, Map.of("Content-Type", mediaType),
                () -> new java.io.ByteArrayInputStream(raw), raw.length);
        try (InputStream in = r.body()) {
            if (r.statusCode() != 201) throw failure(r, in, "manifest " + reference);
        }
    }

    /**
     * Ends the HTTP client's connections and its selector thread; any transfer still open is
     * aborted (the callers close every body they open, so none should be).
     */
    @Override
    public void close() {
        http.shutdownNow();
    }

    // ------------------------------------------------------------------ HTTP, auth, redirects

    private HttpResponse<InputStream> send(String method, String path, Map<String, String> headers,
                                           Supplier<InputStream> body, long length) throws IOException {
        return sendTo(method, base().resolve("/v2/" + ref.repository() + "/" + path), headers, body, length);
    }

    private HttpResponse<InputStream> sendTo(String method, URI uri, Map<String, String> headers,
                                             Supplier<InputStream> body, long length) throws IOException {
        String auth;
        synchronized (lock) {
            auth = authorization;
        }
        HttpResponse<InputStream> r = follow(method, uri, headers, body, length, auth);
        if (r.statusCode() != 401) return r;
        String challenge = r.headers().firstValue("WWW-Authenticate").orElse(null);
        r.body().close();
        String fresh = authenticate(Challenge.parse(challenge), auth);
        r = follow(method, uri, headers, body, length, fresh);
        if (r.statusCode() == 401) {
            try (InputStream in = r.body()) {
                throw failure(r, in, ref.toString());
            }
        }
        return r;
    }

    /** One request, following redirects; Authorization only goes to the host it was meant for. */
    private HttpResponse<InputStream> follow(String method, URI uri, Map<String, String> headers,
                                             Supplier<InputStream> body, long length, String auth) throws IOException {
        URI origin = uri;
        for (int hop = 0; ; hop++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(options.timeout());
            headers.forEach(b::header);
            if (auth != null && sameOrigin(origin, uri)) b.header("Authorization", auth);
            HttpRequest.BodyPublisher pub = body == null
                    ? (length == 0 ? HttpRequest.BodyPublishers.noBody() : null)
                    : HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(body), length);
            if (pub == null) b.method(method, HttpRequest.BodyPublishers.noBody());
            else b.method(method, pub);
            HttpResponse<InputStream> r;
            try {
                r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted");
            }
            int s = r.statusCode();
            Optional<String> loc = r.headers().firstValue("Location");
            if ((s == 301 || s == 302 || s == 303 || s == 307 || s == 308) && loc.isPresent() && !method.equals("POST")) {
                r.body().close();
                if (hop >= MAX_REDIRECTS) throw new IOException("too many redirects from " + origin);
                uri = uri.resolve(loc.get());
                if (s == 303) method = "GET";
                continue;
            }
            return r;
        }
    }

    private static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equals(b.getScheme()) && a.getHost().equalsIgnoreCase(b.getHost()) && a.getPort() == b.getPort();
    }

    /**
     * Answers a 401: Basic with our credentials, or Bearer with a token from the realm. Another
     * thread may have done it meanwhile (blobs go in parallel): then its header is taken.
     */
    private String authenticate(Challenge c, String failed) throws IOException {
        synchronized (lock) {
            if (authorization != null && !authorization.equals(failed)) return authorization;
            if (c == null) throw unauthorized("the registry asked for credentials without saying how (no WWW-Authenticate)");
            switch (c.scheme()) {
                case "basic" -> {
                    if (credentials == null) throw unauthorized("authentication required (no credentials for " + ref.registry() + ")");
                    authorization = credentials.basicHeader();
                }
                case "bearer" -> authorization = "Bearer " + token(c);
                default -> throw unauthorized("unsupported authentication scheme \"" + c.scheme() + "\"");
            }
            return authorization;
        }
    }

    /** Fetches a token (docker's token protocol: GET realm?service=&scope=, JSON token/access_token). */
    private String token(Challenge c) throws IOException {
        String realm = c.params().get("realm");
        if (realm == null || realm.isEmpty()) throw unauthorized("bearer challenge without a realm");
        String scope = "repository:" + ref.repository() + (push ? ":pull,push" : ":pull");
        StringBuilder q = new StringBuilder();
        String service = c.params().get("service");
        if (service != null) q.append("service=").append(URLEncoder.encode(service, StandardCharsets.UTF_8));
        for (String s : List.of(scope, c.params().getOrDefault("scope", scope))) {
            if (s.equals(scope) && q.indexOf("scope=") >= 0) continue;
            if (!q.isEmpty()) q.append('&');
            q.append("scope=").append(URLEncoder.encode(s, StandardCharsets.UTF_8));
        }
        URI uri = URI.create(realm + (realm.indexOf('?') >= 0 ? "&" : "?") + q);
        if (!uri.getScheme().equals("https") && !uri.getScheme().equals("http")) throw unauthorized("bad token realm " + realm);
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(options.timeout()).GET();
        if (credentials != null) b.header("Authorization", credentials.basicHeader());
        HttpResponse<byte[]> r;
        try {
            r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted");
        }
        if (r.statusCode() == 401 || r.statusCode() == 403) {
            throw unauthorized("the token server refused " + (credentials == null ? "anonymous access" : "the credentials of " + credentials.username()));
        }
        if (r.statusCode() >= 500) throw new RetryableException("token server answered " + r.statusCode());
        if (r.statusCode() != 200) throw unauthorized("the token server answered " + r.statusCode());
        Object json;
        try {
            json = Json.parse(new String(r.body(), StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            throw unauthorized("the token server sent no JSON");
        }
        if (json instanceof Map<?, ?> m) {
            if (m.get("token") instanceof String t && !t.isEmpty()) return t;
            if (m.get("access_token") instanceof String t && !t.isEmpty()) return t;
        }
        throw unauthorized("the token server sent no token");
    }

    private ImageException unauthorized(String why) {
        return new ImageException(ImageException.Reason.UNAUTHORIZED, ref + ": unauthorized: " + why);
    }

    /** The registry's base URI: https, or for loopback / --tls-verify=false whichever answers. */
    private URI base() throws IOException {
        synchronized (lock) {
            if (base != null) return base;
            String host = ref.apiHost();
            if (options.plainHttp()) {
                base = URI.create("http://" + host);
            } else if (!options.tlsVerify() || ref.isLoopback()) {
                URI https = URI.create("https://" + host);
                try {
                    ping(https);
                    base = https;
                } catch (IOException e) {
                    base = URI.create("http://" + host);
                }
            } else {
                base = URI.create("https://" + host);
            }
            return base;
        }
    }

    private void ping(URI b) throws IOException {
        HttpRequest req = HttpRequest.newBuilder(b.resolve("/v2/")).timeout(options.timeout()).GET().build();
        try {
            http.send(req, HttpResponse.BodyHandlers.discarding());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted");
        }
    }

    /**
     * The exception for an unexpected answer, with the registry's error message when its body
     * has the distribution spec's {"errors":[{"code","message"}]}; a 5xx or 429 is thrown as
     * a RetryableException instead.
     */
    private ImageException failure(HttpResponse<?> r, InputStream body, String what) throws IOException {
        int s = r.statusCode();
        String msg = errorMessage(body);
        if (s >= 500 || s == 429 || s == 408) {
            throw new RetryableException(ref + ": " + what + ": registry answered " + s + (msg != null ? " (" + msg + ")" : ""));
        }
        ImageException.Reason reason = switch (s) {
            case 401, 403 -> ImageException.Reason.UNAUTHORIZED;
            case 404 -> ImageException.Reason.NOT_FOUND;
            default -> ImageException.Reason.REGISTRY;
        };
        if (msg == null) {
            msg = switch (s) {
                case 401 -> "unauthorized";
                case 403 -> "denied";
                case 404 -> what.startsWith("manifest") ? "manifest unknown" : what.startsWith("blob") ? "blob unknown" : "not found";
                default -> "registry answered HTTP " + s;
            };
        }
        return new ImageException(reason, ref + ": " + (s == 404 ? "" : what + ": ") + msg);
    }

    private static String errorMessage(InputStream body) {
        try {
            byte[] b = body.readNBytes(64 << 10);
            if (b.length == 0) return null;
            if (Json.parse(new String(b, StandardCharsets.UTF_8)) instanceof Map<?, ?> m
                    && m.get("errors") instanceof List<?> l && !l.isEmpty() && l.get(0) instanceof Map<?, ?> e) {
                String message = e.get("message") instanceof String s ? s : null;
                String code = e.get("code") instanceof String s ? s : null;
                if (message != null && !message.isEmpty()) return message;
                if (code != null) return code.toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
            }
        } catch (IOException | RuntimeException e) {
            // no readable error body: the status will do
        }
        return null;
    }

    /** Accepts any certificate and any host name: what --tls-verify=false asks for. */
    private static SSLContext trustAll() {
        TrustManager tm = new X509ExtendedTrustManager() {
            @Override public void checkClientTrusted(X509Certificate[] c, String a, java.net.Socket s) {}
            @Override public void checkServerTrusted(X509Certificate[] c, String a, java.net.Socket s) {}
            @Override public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) {}
            @Override public void checkServerTrusted(X509Certificate[] c, String a, SSLEngine e) {}
            @Override public void checkClientTrusted(X509Certificate[] c, String a) {}
            @Override public void checkServerTrusted(X509Certificate[] c, String a) {}
            @Override public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        };
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {tm}, new SecureRandom());
            return ctx;
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("no TLS in this JDK", e);
        }
    }
}
