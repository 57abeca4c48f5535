package kurma.image.testing;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import kurma.spec.Json;

/**
 * A small token server for Docker's token auth, written for the tests: the real
 * docker-registry is configured to trust its certificate (made with the JDK's keytool) and
 * sends clients here; it checks HTTP Basic credentials (if it has any) and answers with a
 * JWT (RS256, certificate in x5c) granting what the scope asks.
 */
public final class TokenServer implements AutoCloseable {
    public static final String SERVICE = "kurma-test-registry";
    public static final String ISSUER = "kurma-test-issuer";

    /** What the client sent: the query and the Authorization header (or null). */
    public record Call(String query, String authorization) {}

    private final HttpServer server;
    private final PrivateKey key;
    private final X509Certificate cert;
    private final Path certPem;
    private final String user, password;
    private final List<Call> calls = new CopyOnWriteArrayList<>();

    private TokenServer(Path dir, String user, String password) throws Exception {
        this.user = user;
        this.password = password;
        Path ks = dir.resolve("token.p12");
        certPem = dir.resolve("token-cert.pem");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        run(keytool, "-genkeypair", "-alias", "token", "-keyalg", "RSA", "-keysize", "2048", "-sigalg", "SHA256withRSA",
                "-dname", "CN=kurma test token issuer", "-validity", "2", "-keystore", ks.toString(), "-storetype", "PKCS12",
                "-storepass", "changeit", "-keypass", "changeit");
        run(keytool, "-exportcert", "-rfc", "-alias", "token", "-keystore", ks.toString(), "-storepass", "changeit",
                "-file", certPem.toString());
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(ks)) {
            store.load(in, "changeit".toCharArray());
        }
        key = (PrivateKey) store.getKey("token", "changeit".toCharArray());
        cert = (X509Certificate) store.getCertificate("token");
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        server.createContext("/token", this::token);
        server.start();
    }

    /** A token server that gives tokens to {@code user}:{@code password} only. */
    public static TokenServer start(Path dir, String user, String password) throws Exception {
        return new TokenServer(dir, user, password);
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IOException(String.join(" ", cmd) + ": " + out);
    }

    public String realm() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/token";
    }

    public Path certPem() {
        return certPem;
    }

    public List<Call> calls() {
        return List.copyOf(calls);
    }

    private void token(HttpExchange ex) throws IOException {
        String query = ex.getRequestURI().getRawQuery();
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        calls.add(new Call(query, auth));
        String expected = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        if (!expected.equals(auth)) {
            ex.sendResponseHeaders(401, -1);
            ex.close();
            return;
        }
        List<Object> access = new ArrayList<>();
        for (String param : query == null ? new String[0] : query.split("&")) {
            if (!param.startsWith("scope=")) continue;
            String[] s = URLDecoder.decode(param.substring(6), StandardCharsets.UTF_8).split(":");
            if (s.length == 3) access.add(Map.of("type", s[0], "name", s[1], "actions", List.of(s[2].split(","))));
        }
        long now = System.currentTimeMillis() / 1000;
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("iss", ISSUER);
        claims.put("sub", user);
        claims.put("aud", SERVICE);
        claims.put("exp", now + 300);
        claims.put("nbf", now - 10);
        claims.put("iat", now - 10);
        claims.put("jti", UUID.randomUUID().toString());
        claims.put("access", access);
        String jwt;
        try {
            jwt = jwt(claims);
        } catch (Exception e) {
            throw new IOException(e);
        }
        byte[] body = Json.write(Map.of("token", jwt, "expires_in", 300L)).getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
        ex.close();
    }

    private String jwt(Map<String, Object> claims) throws Exception {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("typ", "JWT");
        header.put("alg", "RS256");
        header.put("x5c", List.of(Base64.getEncoder().encodeToString(cert.getEncoded())));
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String signingInput = b64.encodeToString(Json.write(header).getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(Json.write(claims).getBytes(StandardCharsets.UTF_8));
        Signature sig = Signature.getInstance("SHA256withRSA");
        sig.initSign(key);
        sig.update(signingInput.getBytes(StandardCharsets.US_ASCII));
        return signingInput + "." + b64.encodeToString(sig.sign());
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
