package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Proc;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.Test;

/** A user namespace: root inside is an unprivileged uid outside. */
class UserNamespaceTest extends ContainerTest {
    private static final long HOST_ID = TestEnv.USERNS_HOST_ID, SIZE = TestEnv.USERNS_SIZE;

    private Bundle userBundle() throws Exception {
        return env.userNamespaceBundle();
    }

    @Test
    void theContainerSeesItsMapsAndIsRootInside() throws Exception {
        Result r = env.runOk(userBundle().sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g;"
                + " echo written > /tmp/f && cat /tmp/f"));
        List<String> words = new ArrayList<>();
        for (String l : r.lines()) words.add(String.join(" ", l.trim().split("\\s+")));
        assertEquals(List.of("0 " + HOST_ID + " " + SIZE, "0 " + HOST_ID + " " + SIZE, "0", "0", "written"), words,
                () -> "inside\n" + r);
    }

    @Test
    void rootInsideIsNotRootOutside() throws Exception {
        // A host root file bind-mounted in: the container's root may read but not write it.
        Path dir = env.newDir("hostfiles");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path f = Files.writeString(dir.resolve("owned-by-host-root"), "host\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        // The verdict goes to a directory of the mapped range's own.
        Path out = env.newDir("out");
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setOwner(out, out.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(Long.toString(HOST_ID)));
        Bundle b = userBundle().bind(dir, "/host").bind(out, "/out")
                .sh("cat /host/owned-by-host-root > /out/read; echo changed >> /host/owned-by-host-root 2>/dev/null"
                        + " && echo wrote > /out/v || echo denied > /out/v; mv /out/v /out/verdict; exec sleep 30");
        String id = env.create(b);
        long pid = env.pid(id);
        // Seen from the host, the container's root is HOST_ID.
        String uid = null;
        for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (l.startsWith("Uid:")) uid = l.split("\\s+")[1];
        }
        assertEquals(Long.toString(HOST_ID), uid, "the init's uid on the host");
        env.rt("start", id).ok();
        env.waitForFile(out.resolve("verdict"), id, Duration.ofSeconds(20));
        assertEquals("host\n", Files.readString(out.resolve("read")), "root inside may read the host file");
        assertEquals("denied\n", Files.readString(out.resolve("verdict")), "root inside may not write it");
        env.rt("delete", "--force", id).ok();
        assertEquals("host\n", Files.readString(f), "the host file is unchanged");
    }

    @Test
    void aReadOnlyBindOfANosuidMountWorks() throws Exception {
        assumeKurma(); // runc 1.1 fails this remount with EPERM (the kernel locks the source's flags)
        Path src = env.newDir("locked");
        Result mount = Proc.run(List.of("mount", "-t", "tmpfs", "-o", "nosuid,nodev,noexec,mode=755", "tmpfs",
                src.toString()), null, env.tmp(), Duration.ofSeconds(10));
        assertEquals(0, mount.exit(), () -> "mount\n" + mount);
        try {
            Files.writeString(src.resolve("f"), "locked\n");
            Bundle b = userBundle().bind(src, "/locked", "ro")
                    .sh("cat /locked/f; touch /locked/x 2>/dev/null && echo writable || echo read-only");
            Result r = env.runOk(b);
            TestEnv.assertLines(r, "locked", "read-only");
        } finally {
            Proc.run(List.of("umount", src.toString()), null, env.tmp(), Duration.ofSeconds(10));
        }
    }

    @Test
    void aNewUserNamespaceNeedsMappings() throws Exception {
        Bundle b = env.bundle().addNamespace("user").args("true");
        Result r = env.rt("create", "-b", b.write().toString(), env.newId());
        assertNotEquals(0, r.exit(), () -> "create must fail\n" + r);
        if (isKurma()) TestEnv.assertContains(r.stderr(), "uidMappings", "error");
        env.assertNothingLeft();
    }
}
