package kurma.image.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
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

class CredentialsTest {
    @TempDir
    Path dir;

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void parsesUserColonPassword() {
        assertEquals(new Credentials("u", "p:with:colons"), Credentials.parse("u:p:with:colons"));
        assertEquals(new Credentials("u", ""), Credentials.parse("u:"));
        assertThrows(ImageException.class, () -> Credentials.parse("nopassword"));
        assertThrows(ImageException.class, () -> Credentials.parse(":p"));
        assertFalse(new Credentials("u", "secret").toString().contains("secret"));
    }

    @Test
    void findsTheMostSpecificEntryInTheFirstFileThatHasOne() throws Exception {
        Path podman = dir.resolve("auth.json");
        Files.writeString(podman, "{\"auths\":{\"quay.io/team\":{\"auth\":\"" + b64("team:t") + "\"},"
                + "\"quay.io\":{\"auth\":\"" + b64("any:a") + "\"}}}");
        Path docker = dir.resolve("home/.docker/config.json");
        Files.createDirectories(docker.getParent());
        Files.writeString(docker, "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"" + b64("hub:h") + "\"},"
                + "\"quay.io\":{\"auth\":\"" + b64("docker-quay:d") + "\"},"
                + "\"localhost:5000\":{\"username\":\"plain\",\"password\":\"pw\"}},\"credsStore\":\"desktop\"}");
        List<Path> files = Credentials.defaultAuthFiles(Map.of("REGISTRY_AUTH_FILE", podman.toString()), dir.resolve("home"));
        assertEquals(List.of(podman, docker), files);
        assertEquals(new Credentials("team", "t"), Credentials.lookup(files, "quay.io", "team/app"));
        assertEquals(new Credentials("any", "a"), Credentials.lookup(files, "quay.io", "other/app"));
        assertEquals(new Credentials("hub", "h"), Credentials.lookup(files, "docker.io", "library/alpine"));
        assertEquals(new Credentials("plain", "pw"), Credentials.lookup(files, "localhost:5000", "x"));
        assertNull(Credentials.lookup(files, "ghcr.io", "x"));
        assertNull(Credentials.lookup(List.of(dir.resolve("missing.json")), "quay.io", "x"));
        assertEquals(List.of(Path.of("/cfg/config.json")), Credentials.defaultAuthFiles(Map.of("DOCKER_CONFIG", "/cfg"), dir));

        Path broken = dir.resolve("broken.json");
        Files.writeString(broken, "{\"auths\":{\"quay.io\":{\"auth\":\"%%%\"}}}");
        ImageException e = assertThrows(ImageException.class, () -> Credentials.lookup(List.of(broken), "quay.io", "x"));
        assertTrue(e.getMessage().contains("not base64"), e.getMessage());
    }

    @Test
    void parsesChallenges() {
        Challenge c = Challenge.parse("Bearer realm=\"https://auth.example/token\",service=\"reg.example\","
                + "scope=\"repository:a/b:pull,push\"");
        assertEquals("bearer", c.scheme());
        assertEquals("https://auth.example/token", c.params().get("realm"));
        assertEquals("reg.example", c.params().get("service"));
        assertEquals("repository:a/b:pull,push", c.params().get("scope"));
        Challenge b = Challenge.parse("Basic realm=\"Registry Realm\"");
        assertEquals("basic", b.scheme());
        assertEquals("Registry Realm", b.params().get("realm"));
        assertNull(Challenge.parse(null));
    }
}
