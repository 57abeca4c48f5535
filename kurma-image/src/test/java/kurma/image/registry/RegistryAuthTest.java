package kurma.image.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import kurma.image.ImageException;
import kurma.image.Platform;
import kurma.image.ref.ImageReference;
import kurma.image.store.ImageStore;
import kurma.image.testing.RegistryServer;
import kurma.image.testing.TestImage;
import kurma.image.testing.TokenServer;

/** Basic auth (htpasswd) and bearer tokens against a real docker-registry. */
class RegistryAuthTest {
    private static final Platform AMD64 = new Platform("linux", "amd64", null);

    @TempDir
    Path dir;

    private static RegistryOptions opts() {
        return RegistryOptions.defaults().withAuthFiles(List.of()).withPlainHttp(true).withPlatform(AMD64).withRetries(0);
    }

    private static String authJson(String key, String user, String pass) {
        String b64 = Base64.getEncoder().encodeToString((user + ":" + pass).getBytes(StandardCharsets.UTF_8));
        return "{\"auths\":{\"" + key + "\":{\"auth\":\"" + b64 + "\"}}}";
    }

    @Test
    void basicAuthWithHtpasswd() throws Exception {
        try (RegistryServer reg = RegistryServer.start(dir.resolve("reg"), new RegistryServer.Htpasswd("alice", "s3cret:pw"))) {
            String ref = reg.host() + "/private/app:1";
            Credentials alice = new Credentials("alice", "s3cret:pw");
            TestImage img = TestImage.small(AMD64, "basic");

            ImageException e = assertThrows(ImageException.class, () -> img.push(
                    RegistryClient.forPush(ImageReference.parse(ref), opts()), "1"));
            assertEquals(ImageException.Reason.UNAUTHORIZED, e.reason());
            img.push(RegistryClient.forPush(ImageReference.parse(ref), opts().withCredentials(alice)), "1");

            ImageStore s = ImageStore.open(dir.resolve("store"));
            e = assertThrows(ImageException.class, () -> s.pull(ref, opts()));
            assertEquals(ImageException.Reason.UNAUTHORIZED, e.reason());
            assertTrue(e.getMessage().startsWith(ref + ": unauthorized"), e.getMessage());
            e = assertThrows(ImageException.class, () -> s.pull(ref, opts().withCredentials(new Credentials("alice", "wrong"))));
            assertEquals(ImageException.Reason.UNAUTHORIZED, e.reason());
            assertEquals(List.of(), s.list());

            assertEquals(img.manifest.digest(), s.pull(ref, opts().withCredentials(alice)).manifestDigest());

            // from podman's auth.json ($REGISTRY_AUTH_FILE), keyed by host
            Path authJson = dir.resolve("auth.json");
            Files.writeString(authJson, authJson(reg.host(), "alice", "s3cret:pw"));
            ImageStore s2 = ImageStore.open(dir.resolve("store2"));
            List<Path> files = Credentials.defaultAuthFiles(Map.of("REGISTRY_AUTH_FILE", authJson.toString()), dir.resolve("nohome"));
            assertEquals(img.manifest.digest(), s2.pull(ref, opts().withAuthFiles(files)).manifestDigest());

            // from Docker's ~/.docker/config.json, keyed by URL; explicit credentials win over it
            Path home = dir.resolve("home");
            Files.createDirectories(home.resolve(".docker"));
            Files.writeString(home.resolve(".docker/config.json"), authJson("http://" + reg.host() + "/v1/", "alice", "s3cret:pw"));
            files = Credentials.defaultAuthFiles(Map.of(), home);
            ImageStore s3 = ImageStore.open(dir.resolve("store3"));
            assertEquals(img.manifest.digest(), s3.pull(ref, opts().withAuthFiles(files)).manifestDigest());
            RegistryOptions overridden = opts().withAuthFiles(files).withCredentials(new Credentials("alice", "nope"));
            e = assertThrows(ImageException.class, () -> ImageStore.open(dir.resolve("store4")).pull(ref, overridden));
            assertEquals(ImageException.Reason.UNAUTHORIZED, e.reason());
        }
    }

    @Test
    void bearerTokensFromTheRealmTheRegistryNames() throws Exception {
        try (TokenServer tokens = TokenServer.start(dir, "bob", "tok-pw");
             RegistryServer reg = RegistryServer.start(dir.resolve("reg"), new RegistryServer.Token(
                     tokens.realm(), TokenServer.SERVICE, TokenServer.ISSUER, tokens.certPem()))) {
            String ref = reg.host() + "/team/app:2";
            Credentials bob = new Credentials("bob", "tok-pw");
            TestImage img = TestImage.small(AMD64, "bearer");
            img.push(RegistryClient.forPush(ImageReference.parse(ref), opts().withCredentials(bob)), "2");
            assertTrue(tokens.calls().stream().anyMatch(c -> c.query().contains("scope=repository%3Ateam%2Fapp%3Apull%2Cpush")),
                    tokens.calls().toString());

            ImageStore s = ImageStore.open(dir.resolve("store"));
            ImageException e = assertThrows(ImageException.class, () -> s.pull(ref, opts()));
            assertEquals(ImageException.Reason.UNAUTHORIZED, e.reason());
            assertTrue(e.getMessage().contains("token server refused anonymous access"), e.getMessage());

            int before = tokens.calls().size();
            assertEquals(img.manifest.digest(), s.pull(ref, opts().withCredentials(bob)).manifestDigest());
            List<TokenServer.Call> calls = tokens.calls().subList(before, tokens.calls().size());
            // one token serves the manifest and all blobs of the pull
            assertEquals(1, calls.size(), calls.toString());
            assertTrue(calls.get(0).query().contains("service=" + TokenServer.SERVICE), calls.get(0).query());
            assertTrue(calls.get(0).query().contains("scope=repository%3Ateam%2Fapp%3Apull"), calls.get(0).query());
        }
    }
}
