package kurma.image.ref;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import kurma.image.ImageException;

class ImageReferenceTest {
    private static final String D = "sha256:" + "ab".repeat(32);

    private static void norm(String in, String expected) {
        assertEquals(expected, ImageReference.parse(in).toString(), in);
    }

    @Test
    void normalizesAsDockerDoes() {
        norm("alpine", "docker.io/library/alpine:latest");
        norm("alpine:3.20", "docker.io/library/alpine:3.20");
        norm("library/alpine", "docker.io/library/alpine:latest");
        norm("docker.io/alpine", "docker.io/library/alpine:latest");
        norm("index.docker.io/alpine", "docker.io/library/alpine:latest");
        norm("docker.io/library/alpine:edge", "docker.io/library/alpine:edge");
        norm("user/app", "docker.io/user/app:latest");
        norm("a/b/c", "docker.io/a/b/c:latest");
        norm("localhost/x", "localhost/x:latest");
        norm("localhost:5000/x", "localhost:5000/x:latest");
        norm("localhost:5000/x:1.0", "localhost:5000/x:1.0");
        norm("quay.io/org/repo:v1", "quay.io/org/repo:v1");
        norm("127.0.0.1:5000/a/b:tag@" + D, "127.0.0.1:5000/a/b:tag@" + D);
        norm("host:5000/a/b@" + D, "host:5000/a/b@" + D);
        norm("alpine@" + D, "docker.io/library/alpine@" + D);
        norm("[::1]:5000/x", "[::1]:5000/x:latest");
        norm("a__b/c-d/e--f/g.h_i:T_ag.1-x", "docker.io/a__b/c-d/e--f/g.h_i:T_ag.1-x");
    }

    @Test
    void splitsTheParts() {
        ImageReference r = ImageReference.parse("host:5000/a/b:tag@" + D);
        assertEquals("host:5000", r.registry());
        assertEquals("a/b", r.repository());
        assertEquals("tag", r.tag());
        assertEquals(D, r.digest().toString());
        assertEquals(D, r.manifestReference());
        assertEquals("host:5000/a/b", r.name());
        ImageReference d = ImageReference.parse("alpine@" + D);
        assertNull(d.tag());
        assertEquals("registry-1.docker.io", d.apiHost());
        assertEquals("alpine@" + D, d.familiar());
        assertEquals("alpine:latest", ImageReference.parse("alpine").familiar());
        assertEquals("user/app:latest", ImageReference.parse("user/app").familiar());
        assertEquals("localhost:5000/x:latest", ImageReference.parse("localhost:5000/x").familiar());
        assertTrue(ImageReference.parse("localhost:5000/x").isLoopback());
        assertTrue(ImageReference.parse("127.0.0.1:1/x").isLoopback());
        assertTrue(ImageReference.parse("[::1]:5000/x").isLoopback());
        assertEquals(false, ImageReference.parse("quay.io/x").isLoopback());
    }

    @Test
    void anUpperCaseFirstComponentIsAHost() {
        // Docker's rule: an upper-case first component can only be a host name
        ImageReference r = ImageReference.parse("Example/app");
        assertEquals("Example", r.registry());
        assertEquals("app", r.repository());
    }

    private static void bad(String in, String why) {
        ImageException e = assertThrows(ImageException.class, () -> ImageReference.parse(in), in);
        assertEquals(ImageException.Reason.INVALID, e.reason());
        assertTrue(e.getMessage().contains(why), in + ": " + e.getMessage());
    }

    @Test
    void refusesWhatDockerRefuses() {
        bad("Alpine", "must be lowercase");
        bad("docker.io/Library/alpine", "must be lowercase");
        bad("localhost:5000/App", "must be lowercase");
        bad("", "empty");
        bad("ab".repeat(32), "64-byte hexadecimal");
        bad("alpine:", "invalid tag");
        bad("alpine:-x", "invalid tag");
        bad("alpine:" + "t".repeat(129), "invalid tag");
        bad("alpine@sha256:abc", "invalid digest");
        bad("alpine@md5:" + "a".repeat(32), "invalid digest");
        bad("a//b", "path component");
        bad("a/b/", "path component");
        bad("-a/b", "path component");
        bad("a___b", "path component");
        bad("a._b", "path component");
        bad("host:port/x", "registry host");
        bad("-host.io/x", "registry host");
        bad("a/" + "b".repeat(260), "255");
    }
}
