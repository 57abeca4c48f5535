package kurma.sys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The *at calls against a real directory (as root: mknod, chown). */
class FsTest {
    @TempDir
    Path tmp;

    @Test
    void makedevMatchesTheKernel() throws IOException {
        Fs.Stat st = Fs.statx(Fs.AT_FDCWD, "/dev/null", 0);
        assertEquals(1, st.rdevMajor());
        assertEquals(3, st.rdevMinor());
        assertEquals(0x103, Fs.makedev(1, 3));
        // A minor above 255 uses the high bits: the kernel must read back what was asked.
        int dir = (int) Fs.check(Fs.openat(Fs.AT_FDCWD, tmp.toString(), Fs.O_RDONLY | Fs.O_DIRECTORY, 0), "open");
        try {
            Fs.check(Fs.mknodat(dir, "big", Fs.S_IFBLK | 0600, 0xabc, 0x12345), "mknod");
            Fs.Stat big = Fs.statx(dir, "big", Fs.AT_SYMLINK_NOFOLLOW);
            assertEquals(0xabc, big.rdevMajor());
            assertEquals(0x12345, big.rdevMinor());
            assertEquals(Fs.makedev(0xabc, 0x12345), Files.getAttribute(tmp.resolve("big"), "unix:rdev"));
        } finally {
            Fs.close(dir);
        }
    }

    @Test
    void nodesLinksAndXattrsRelativeToADirectory() throws IOException {
        int dir = (int) Fs.check(Fs.openat(Fs.AT_FDCWD, tmp.toString(), Fs.O_RDONLY | Fs.O_DIRECTORY, 0), "open");
        try {
            Fs.check(Fs.mknodat(dir, "null", Fs.S_IFCHR | 0666, 1, 3), "mknod");
            Fs.check(Fs.mknodat(dir, "fifo", Fs.S_IFIFO | 0600, 0, 0), "mknod fifo");
            Fs.check(Fs.symlinkat("/etc/passwd", dir, "link"), "symlink");
            Fs.check(Fs.fchownat(dir, "link", 1234, 4321, Fs.AT_SYMLINK_NOFOLLOW), "lchown");
            Fs.check(Fs.mkdirat(dir, "d", 0700), "mkdir");
            assertEquals(-Errno.EEXIST, Fs.mkdirat(dir, "d", 0700));

            Fs.Stat link = Fs.statx(dir, "link", Fs.AT_SYMLINK_NOFOLLOW);
            assertTrue(link.isSymlink());
            assertEquals(1234, link.uid());
            assertEquals(4321, link.gid());
            assertEquals("/etc/passwd", Fs.readlinkat(dir, "link"));
            assertEquals(Fs.S_IFCHR, Fs.statx(dir, "null", Fs.AT_SYMLINK_NOFOLLOW).type());
            assertEquals(Fs.S_IFIFO, Fs.statx(dir, "fifo", Fs.AT_SYMLINK_NOFOLLOW).type());
            int list = (int) Fs.check(Fs.openat(dir, ".", Fs.O_RDONLY | Fs.O_DIRECTORY, 0), "open");
            try {
                assertEquals(List.of("d", "fifo", "link", "null"), Fs.listDirectory(list).stream().sorted().toList());
            } finally {
                Fs.close(list);
            }

            // O_NOFOLLOW|O_DIRECTORY on a symlink: refused, whatever it points to.
            int r = Fs.openat(dir, "link", Fs.O_PATH | Fs.O_DIRECTORY | Fs.O_NOFOLLOW, 0);
            assertTrue(r == -Errno.ENOTDIR || r == -Errno.ELOOP, "got " + r);
            // openat2 RESOLVE_BENEATH refuses to climb out; RESOLVE_NO_SYMLINKS any symlink.
            assertEquals(-Errno.EXDEV, Fs.openat2(dir, "../", Fs.O_PATH, 0, Fs.RESOLVE_BENEATH));
            assertEquals(-Errno.ELOOP, Fs.openat2(dir, "link", Fs.O_PATH, 0, Fs.RESOLVE_BENEATH | Fs.RESOLVE_NO_SYMLINKS));

            String d = tmp.resolve("d").toString();
            byte[] value = {0, 1, (byte) 0x80, (byte) 0xff};
            Fs.check(Fs.lsetxattr(d, "trusted.kurma-test", value), "setxattr");
            assertArrayEquals(value, Fs.lgetxattr(d, "trusted.kurma-test"));
            assertTrue(Fs.llistxattr(d).contains("trusted.kurma-test"));
            assertNull(Fs.lgetxattr(d, "user.absent"));

            Fs.check(Fs.utimensat(dir, "link", 1_000_000_000L, 5, Fs.AT_SYMLINK_NOFOLLOW), "utimensat");
            link = Fs.statx(dir, "link", Fs.AT_SYMLINK_NOFOLLOW);
            assertEquals(1_000_000_000L, link.mtimeSec());
            assertEquals(5, link.mtimeNsec());

            Fs.check(Fs.renameat2(dir, "d", dir, "e", Fs.RENAME_NOREPLACE), "rename");
            Fs.check(Fs.mkdirat(dir, "f", 0700), "mkdir");
            assertEquals(-Errno.EEXIST, Fs.renameat2(dir, "e", dir, "f", Fs.RENAME_NOREPLACE));
            Fs.check(Fs.unlinkat(dir, "f", Fs.AT_REMOVEDIR), "rmdir");
            assertFalse(Files.exists(tmp.resolve("f")));
        } finally {
            Fs.close(dir);
        }
    }

    @Test
    void copyAllCopiesAFile() throws IOException {
        Files.write(tmp.resolve("src"), new byte[300_000]);
        int in = (int) Fs.check(Fs.openat(Fs.AT_FDCWD, tmp.resolve("src").toString(), Fs.O_RDONLY, 0), "open");
        int out = (int) Fs.check(Fs.openat(Fs.AT_FDCWD, tmp.resolve("dst").toString(), Fs.O_WRONLY | Fs.O_CREAT | Fs.O_EXCL, 0600), "open");
        try {
            assertEquals(300_000, Fs.copyAll(in, out));
        } finally {
            Fs.close(in);
            Fs.close(out);
        }
        assertEquals(300_000, Files.size(tmp.resolve("dst")));
    }
}
