package kurma.tests;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the process inside sees: namespaces, mounts, user, limits, masked paths, /dev. */
class ContainerViewTest extends ContainerTest {

    @Test
    void tmpcopyupFillsTheTmpfsWithWhatItCovers() throws Exception {
        // runc's extension, as Podman's --read-only asks for it: the image's files stay visible,
        // writes go to the tmpfs, and the rootfs underneath is untouched.
        kurma.tests.support.Bundle b = env.bundle().readonlyRoot(true).tmpfs("/etc", "tmpcopyup", "mode=755")
                .sh("grep -c '^root:' /etc/passwd; ls -ld /etc/passwd | cut -c1-10; echo new > /etc/added && cat /etc/added;"
                        + " grep -c ' /etc tmpfs' /proc/mounts");
        kurma.tests.support.Result r = env.runOk(b);
        org.junit.jupiter.api.Assertions.assertEquals(java.util.List.of("1", "-rw-r--r--", "new", "1"), r.lines(),
                () -> "the image's /etc in a writable tmpfs\n" + r);
        org.junit.jupiter.api.Assertions.assertFalse(java.nio.file.Files.exists(b.rootfs().resolve("etc/added")),
                "the write stayed in the tmpfs");
    }

    @Test
    void processIsPid1() throws Exception {
        Result r = env.runOk(env.bundle().sh("echo $$"));
        assertEquals("1", r.out(), () -> "pid inside\n" + r);
    }

    @Test
    void hostnameComesFromConfig() throws Exception {
        Result r = env.runOk(env.bundle().hostname("kurma-probe-7").sh("hostname; cat /proc/sys/kernel/hostname"));
        TestEnv.assertLines(r, "kurma-probe-7", "kurma-probe-7");
    }

    @Test
    void networkNamespaceHasOnlyLoopback() throws Exception {
        Bundle b = env.bundle().addNamespace("network").args("cat", "/proc/net/dev");
        Result r = env.runOk(b);
        List<String> ifaces = new ArrayList<>();
        for (String line : r.lines()) {
            int colon = line.indexOf(':');
            if (colon > 0 && !line.contains("|")) ifaces.add(line.substring(0, colon).strip());
        }
        assertEquals(List.of("lo"), ifaces, () -> "interfaces in /proc/net/dev\n" + r);
    }

    @Test
    void bindMountOfAHostDirectoryIsVisibleAndWritable() throws Exception {
        Path host = env.newDir("data");
        Files.writeString(host.resolve("hello.txt"), "from the host\n");
        Bundle b = env.bundle().bind(host, "/data").sh("cat /data/hello.txt && echo from-inside > /data/out.txt");
        Result r = env.runOk(b);
        assertEquals("from the host", r.out(), () -> "file seen inside\n" + r);
        assertEquals("from-inside\n", Files.readString(host.resolve("out.txt")), "file written inside, read on the host");
    }

    @Test
    void readOnlyBindMountRefusesWrites() throws Exception {
        Path host = env.newDir("ro");
        Files.writeString(host.resolve("keep.txt"), "keep\n");
        Bundle b = env.bundle().bind(host, "/ro", "ro")
                .sh("cat /ro/keep.txt; if echo x > /ro/new.txt; then echo WRITE-OK; else echo WRITE-FAILED; fi;"
                        + " if echo y >> /ro/keep.txt; then echo APPEND-OK; else echo APPEND-FAILED; fi");
        Result r = env.runOk(b);
        TestEnv.assertLines(r, "keep", "WRITE-FAILED", "APPEND-FAILED");
        assertFalse(Files.exists(host.resolve("new.txt")), "file created through a read-only bind");
        assertEquals("keep\n", Files.readString(host.resolve("keep.txt")));
    }

    @Test
    void tmpfsMountHonoursSizeOption() throws Exception {
        Bundle b = env.bundle().tmpfs("/scratch", "nosuid", "nodev", "size=1m", "mode=1777")
                .sh("grep ' /scratch ' /proc/mounts;"
                        + " if dd if=/dev/zero of=/scratch/small bs=1024 count=512 2>/dev/null; then echo SMALL-OK; else echo SMALL-FAILED; fi;"
                        + " if dd if=/dev/zero of=/scratch/big bs=1024 count=2048 2>/dev/null; then echo BIG-OK; else echo BIG-FAILED; fi;"
                        + " stat -c %a /scratch");
        Result r = env.runOk(b);
        List<String> lines = r.lines();
        assertEquals(4, lines.size(), () -> "output\n" + r);
        String mountLine = lines.get(0);
        assertTrue(mountLine.startsWith("tmpfs /scratch tmpfs "), () -> "mount entry\n" + r);
        TestEnv.assertContains(mountLine, "size=1024k", "tmpfs options");
        assertEquals(List.of("SMALL-OK", "BIG-FAILED", "1777"), lines.subList(1, 4), () -> "output\n" + r);
    }

    @Test
    void readonlyRootRefusesWritesButTmpfsWorks() throws Exception {
        Bundle b = env.bundle().readonlyRoot(true).tmpfs("/tmp", "nosuid", "nodev", "mode=1777")
                .sh("if touch /should-not-exist; then echo ROOT-WRITE-OK; else echo ROOT-WRITE-FAILED; fi;"
                        + " if echo hi > /tmp/f && cat /tmp/f; then echo TMP-OK; else echo TMP-FAILED; fi");
        Result r = env.runOk(b);
        TestEnv.assertLines(r, "ROOT-WRITE-FAILED", "hi", "TMP-OK");
        assertFalse(Files.exists(b.rootfs().resolve("should-not-exist")), "written through a read-only root");
    }

    @Test
    void writableRootWhenNotReadonly() throws Exception {
        Bundle b = env.bundle().readonlyRoot(false).sh("echo written > /marker && cat /marker");
        Result r = env.runOk(b);
        assertEquals("written", r.out());
        assertEquals("written\n", Files.readString(b.rootfs().resolve("marker")), "file in the rootfs on the host");
    }

    @Test
    void processUserAndGroups() throws Exception {
        Bundle b = env.bundle().user(1000, 1000, 2000, 65534).sh("id -u; id -g; id -G; id -un");
        Result r = env.runOk(b);
        List<String> lines = r.lines();
        assertEquals(4, lines.size(), () -> "output\n" + r);
        assertEquals("1000", lines.get(0), "uid");
        assertEquals("1000", lines.get(1), "gid");
        Set<String> groups = new HashSet<>(List.of(lines.get(2).split("\\s+")));
        assertTrue(groups.containsAll(Set.of("2000", "65534")), () -> "supplementary groups " + groups + "\n" + r);
        assertFalse(groups.contains("0"), () -> "root group kept: " + groups);
        assertEquals("kurma", lines.get(3), "user name from the rootfs /etc/passwd");
    }

    @Test
    void unprivilegedUserCannotWriteRootOwnedFiles() throws Exception {
        Bundle b = env.bundle().readonlyRoot(false).user(1000, 1000)
                .sh("if echo x >> /etc/passwd; then echo WRITE-OK; else echo WRITE-FAILED; fi");
        Result r = env.runOk(b);
        assertEquals("WRITE-FAILED", r.out(), () -> "non-root user wrote /etc/passwd\n" + r);
    }

    @Test
    void cwdAndEnv() throws Exception {
        Bundle b = env.bundle().cwd("/etc").env("GREETING=hello world", "EMPTY=")
                .sh("pwd; echo \"$GREETING\"; echo \"[${EMPTY-unset}]\"; echo \"$PATH\"");
        Result r = env.runOk(b);
        List<String> lines = r.stdout().lines().toList();
        assertEquals("/etc", lines.get(0), () -> "cwd\n" + r);
        assertEquals("hello world", lines.get(1), () -> "env\n" + r);
        assertEquals("[]", lines.get(2), () -> "empty env value\n" + r);
        TestEnv.assertContains(lines.get(3), "/bin", "PATH");
    }

    @Test
    void umask() throws Exception {
        Bundle b = env.bundle().tmpfs("/tmp", "mode=1777").sh("umask; touch /tmp/f; stat -c %a /tmp/f");
        b.set("process.user.umask", 0077);
        Result r = env.runOk(b);
        TestEnv.assertLines(r, "0077", "600");
    }

    @Test
    void rlimits() throws Exception {
        Bundle b = env.bundle().rlimit("RLIMIT_NOFILE", 123, 456).sh("ulimit -n; ulimit -Hn");
        Result r = env.runOk(b);
        TestEnv.assertLines(r, "123", "456");
    }

    @Test
    void maskedPaths() throws Exception {
        Bundle b = env.bundle();
        Files.writeString(b.rootfs().resolve("etc/secret"), "top secret\n");
        Files.createDirectories(b.rootfs().resolve("secretdir"));
        Files.writeString(b.rootfs().resolve("secretdir/inside"), "also secret\n");
        // /proc/kcore only exists with CONFIG_PROC_KCORE; /proc/version always does.
        boolean kcore = Files.exists(Path.of("/proc/kcore"));
        List<Object> masked = b.list("linux.maskedPaths");
        for (String p : List.of("/proc/kcore", "/proc/version", "/etc/secret", "/secretdir", "/does/not/exist")) {
            if (!masked.contains(p)) masked.add(p);
        }
        b.sh("for f in /proc/version /etc/secret" + (kcore ? " /proc/kcore" : "") + "; do"
                + "   if cat $f > /dev/null; then echo \"$f readable, $(cat $f | wc -c) bytes\"; else echo \"$f unreadable\"; fi;"
                + " done;"
                + " echo \"dir=[$(ls -A /secretdir)]\"; grep -c . /proc/self/mountinfo > /dev/null && echo done");
        Result r = env.runOk(b);
        // A mask is a bind of /dev/null (files) or an empty read-only tmpfs (directories):
        // reading works and yields nothing. Unmasked, /proc/kcore would be refused (EPERM).
        List<String> want = new ArrayList<>(List.of("/proc/version readable, 0 bytes", "/etc/secret readable, 0 bytes"));
        if (kcore) want.add("/proc/kcore readable, 0 bytes");
        want.add("dir=[]");
        want.add("done");
        assertEquals(want, r.lines(), () -> "masked paths\n" + r);
        assertEquals("top secret\n", Files.readString(b.rootfs().resolve("etc/secret")), "the masked file on the host is untouched");
    }

    @Test
    void readonlyPaths() throws Exception {
        Bundle b = env.bundle().hostname("ro-paths");
        List<Object> ro = b.list("linux.readonlyPaths");
        if (!ro.contains("/proc/sys")) ro.add("/proc/sys");
        // Writing the container's own hostname is harmless even if it were to succeed.
        b.sh("if echo ro-paths > /proc/sys/kernel/hostname; then echo WRITE-OK; else echo WRITE-FAILED; fi;"
                + " grep ' /proc/sys ' /proc/mounts | head -n 1; hostname");
        Result r = env.runOk(b);
        List<String> lines = r.lines();
        assertEquals(3, lines.size(), () -> "output\n" + r);
        assertEquals("WRITE-FAILED", lines.get(0), () -> "write to a read-only path\n" + r);
        String[] mount = lines.get(1).split(" ");
        assertTrue(mount.length >= 4 && ("," + mount[3] + ",").contains(",ro,"), () -> "/proc/sys mount is not ro\n" + r);
        assertEquals("ro-paths", lines.get(2));
    }

    @Test
    void devContainsTheStandardDevices() throws Exception {
        Bundle b = env.bundle().sh("ls -a /dev; echo --;"
                + " for d in null zero full random urandom tty; do test -c /dev/$d && echo char:$d; done;"
                + " test -d /dev/pts && echo dir:pts; test -d /dev/shm && echo dir:shm;"
                + " test -d /dev/fd/ && echo dir:fd; test -e /dev/ptmx && echo exists:ptmx;"
                + " for s in stdin stdout stderr; do test -e /dev/$s && echo exists:$s; done;"
                + " echo x > /dev/null && echo null-writes; if echo x > /dev/full; then echo full-writes; else echo full-refuses; fi;"
                + " head -c 4 /dev/zero | od -An -tx1 | tr -d ' '; head -c 16 /dev/urandom | wc -c");
        Result r = env.runOk(b);
        List<String> lines = r.lines();
        int sep = lines.indexOf("--");
        assertTrue(sep > 0, () -> "output\n" + r);
        Set<String> names = new HashSet<>(lines.subList(0, sep));
        for (String n : List.of("null", "zero", "full", "random", "urandom", "tty", "ptmx", "fd", "stdin", "stdout", "stderr", "shm", "pts")) {
            assertTrue(names.contains(n), () -> "/dev lacks " + n + ": " + names);
        }
        List<String> checks = lines.subList(sep + 1, lines.size());
        assertEquals(List.of("char:null", "char:zero", "char:full", "char:random", "char:urandom", "char:tty",
                "dir:pts", "dir:shm", "dir:fd", "exists:ptmx", "exists:stdin", "exists:stdout", "exists:stderr",
                "null-writes", "full-refuses", "00000000", "16"), checks, () -> "device checks\n" + r);
    }

    /**
     * The standard devices are 0666, as runc makes them: a process that is not root must be
     * able to write /dev/null (shells redirect there all the time). Engines (Docker, Podman)
     * give no linux.devices for them, so the runtime's defaults are what every container gets.
     */
    @Test
    void standardDevicesAreReadWriteForEveryone() throws Exception {
        Bundle b = env.bundle().user(1000, 1000).sh("for d in null zero full random urandom tty; do echo $d $(stat -c %a /dev/$d); done;"
                + " if echo x > /dev/null; then echo null-writable; else echo null-denied; fi;"
                + " head -c 2 /dev/zero | od -An -tx1 | tr -d ' '");
        Result r = env.runOk(b);
        TestEnv.assertLines(r, "null 666", "zero 666", "full 666", "random 666", "urandom 666", "tty 666", "null-writable", "0000");
    }
}
