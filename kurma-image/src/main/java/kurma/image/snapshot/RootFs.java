package kurma.image.snapshot;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import kurma.image.unpack.LayerMerge;
import kurma.image.unpack.Trees;
import kurma.sys.Errno;
import kurma.sys.Fs;
import kurma.sys.ProcFs;
import kurma.sys.SysException;

/**
 * A container's root filesystem from its image's snapshots: an overlayfs mount at
 * {@code <containerDir>/rootfs} with the snapshots as read-only lower directories and the
 * container's own {@code upper/} (and overlayfs' {@code work/}) in the container directory. A
 * single-layer image is a single lower directory; the snapshot itself is never written.
 *
 * <p>Where overlayfs cannot be used the layers are copied instead, applied in order into
 * {@code rootfs/} ({@link LayerMerge}): when the kernel has no overlayfs, when the mount fails
 * with ENODEV, EINVAL or EOPNOTSUPP (e.g. the state directory is itself on overlayfs or a file
 * system overlayfs refuses as upper), when a path contains a character the overlay options
 * cannot carry unescaped (',', ':', '\'), and when the lowerdir list is too long: mount(2) takes
 * its options in one page (4096 bytes here, whatever the page size, to stay safe), and
 * overlayfs stacks at most 500 lower layers. The copy costs time and space per container but
 * gives the same view.
 */
public final class RootFs {
    private RootFs() {}

    /** How to build the root filesystem: overlay if possible else copy, or one of them only. */
    public enum Mode { AUTO, OVERLAY, COPY }

    static final int MAX_OPTIONS = 4095, MAX_LOWER = 500;

    /** A mounted (or copied) root filesystem; closing unmounts an overlay (a copy stays). */
    public sealed interface Mounted extends AutoCloseable {
        Path rootfs();

        @Override
        void close() throws IOException;
    }

    /** An overlayfs mount with these options. */
    public record Overlay(Path rootfs, String options) implements Mounted {
        @Override
        public void close() throws IOException {
            unmount(rootfs);
        }
    }

    /** A copy of the layers, made because of {@code reason}. */
    public record Copy(Path rootfs, String reason) implements Mounted {
        @Override
        public void close() {}
    }

    /** {@link Mode#AUTO}. */
    public static Mounted mount(List<Path> lowerToUpper, Path containerDir) throws IOException {
        return mount(lowerToUpper, containerDir, Mode.AUTO);
    }

    /**
     * Builds {@code containerDir/rootfs} from snapshot directories (their {@code fs/}), bottom
     * layer first. {@code containerDir} is made if missing; {@code rootfs} must be empty.
     */
    public static Mounted mount(List<Path> lowerToUpper, Path containerDir, Mode mode) throws IOException {
        Path dir = containerDir.toAbsolutePath();
        Path rootfs = dir.resolve("rootfs");
        Files.createDirectories(rootfs);
        try (var s = Files.list(rootfs)) {
            if (s.findAny().isPresent()) throw new IOException(rootfs + " is not empty");
        }
        String reason;
        if (lowerToUpper.isEmpty()) {
            reason = "the image has no layers";
        } else if (mode == Mode.COPY) {
            reason = "copy asked for";
        } else {
            reason = tryOverlay(lowerToUpper, dir, rootfs);
            if (reason == null) return new Overlay(rootfs, options(lowerToUpper, dir));
            if (mode == Mode.OVERLAY) throw new IOException("cannot mount an overlay on " + rootfs + ": " + reason);
        }
        try {
            LayerMerge.merge(lowerToUpper.stream().map(Path::toAbsolutePath).toList(), rootfs);
        } catch (IOException | RuntimeException e) {
            try {
                Trees.removeRecursively(rootfs);
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        return new Copy(rootfs, reason);
    }

    /** Mounts the overlay; null on success, else why a copy is needed (or an exception for a real failure). */
    private static String tryOverlay(List<Path> lowerToUpper, Path dir, Path rootfs) throws IOException {
        if (lowerToUpper.size() > MAX_LOWER) return lowerToUpper.size() + " layers, more than overlayfs stacks (" + MAX_LOWER + ")";
        if (!ProcFs.read(Path.of("/proc/filesystems")).contains("\toverlay\n")) return "the kernel has no overlayfs";
        List<Path> all = new ArrayList<>(lowerToUpper);
        all.add(dir);
        for (Path p : all) {
            String s = p.toAbsolutePath().toString();
            if (s.contains(",") || s.contains(":") || s.contains("\\")) return "the path " + s + " has a character overlay options cannot carry";
        }
        String options = options(lowerToUpper, dir);
        if (options.length() > MAX_OPTIONS) {
            return "the overlay options are " + options.length() + " bytes, more than one page (" + (MAX_OPTIONS + 1) + ")";
        }
        Path upper = dir.resolve("upper"), work = dir.resolve("work");
        boolean made = !Files.isDirectory(upper);
        if (made) {
            Files.createDirectory(upper);
            // The merged root directory shows the upper directory's owner and mode: the top
            // layer's root, not whatever mkdir gave.
            Fs.Stat top = Fs.statx(Fs.AT_FDCWD, lowerToUpper.getLast().toAbsolutePath().toString(), 0);
            Fs.check(Fs.fchownat(Fs.AT_FDCWD, upper.toString(), top.uid(), top.gid(), Fs.AT_SYMLINK_NOFOLLOW), "chown " + upper);
            Fs.check(Fs.fchmodat(Fs.AT_FDCWD, upper.toString(), top.mode() & 07777), "chmod " + upper);
        }
        Files.createDirectories(work);
        int r = Fs.mount("overlay", rootfs.toString(), "overlay", 0, options);
        if (r == 0) return null;
        if (made) {
            Files.deleteIfExists(work.resolve("work"));
            Files.deleteIfExists(work);
            Files.deleteIfExists(upper);
        }
        String why = "mount overlay: " + new SysException("mount", -r).getMessage().substring("mount: ".length());
        if (r == -Fs.ENODEV || r == -Errno.EINVAL || r == -Fs.EOPNOTSUPP) return why;
        throw new IOException("cannot mount an overlay on " + rootfs + ": " + why.substring("mount overlay: ".length()));
    }

    private static String options(List<Path> lowerToUpper, Path dir) {
        List<String> lower = new ArrayList<>();
        for (Path p : lowerToUpper) lower.add(p.toAbsolutePath().toString());
        Collections.reverse(lower); // overlayfs lists the top layer first
        StringBuilder sb = new StringBuilder("lowerdir=").append(String.join(":", lower))
                .append(",upperdir=").append(dir.resolve("upper")).append(",workdir=").append(dir.resolve("work"));
        // The inodes index would tie each upper to the exact lower layers it was first mounted
        // with; the snapshots are shared between containers, and Docker turns it off as well.
        if (Files.exists(Path.of("/sys/module/overlay/parameters/index"))) sb.append(",index=off");
        return sb.toString();
    }

    /** Unmounts {@code rootfs} if something is mounted there; lazily if it is busy. */
    public static void unmount(Path rootfs) throws IOException {
        String p = rootfs.toAbsolutePath().toString();
        if (!isMountPoint(rootfs)) return;
        int r = Fs.umount2(p, 0);
        if (r == -Errno.EBUSY) r = Fs.umount2(p, Fs.MNT_DETACH);
        if (r < 0 && r != -Errno.EINVAL) throw new IOException("unmount " + p + ": " + new SysException("umount", -r).getMessage());
    }

    /**
     * Removes a container directory made by {@link #mount}: unmounts its rootfs if it is still
     * mounted (after a crash, say), then removes everything, never crossing into another mount.
     */
    public static void delete(Path containerDir) throws IOException {
        Path dir = containerDir.toAbsolutePath();
        unmount(dir.resolve("rootfs"));
        Trees.removeRecursively(dir);
    }

    static boolean isMountPoint(Path p) throws IOException {
        Fs.Stat[] st = new Fs.Stat[1], parent = new Fs.Stat[1];
        long r = Fs.statx(Fs.AT_FDCWD, p.toAbsolutePath().toString(), Fs.AT_SYMLINK_NOFOLLOW, st);
        if (r == -Errno.ENOENT) return false;
        Fs.check(r, "stat " + p);
        if (st[0].isMountRoot()) return true;
        Fs.check(Fs.statx(Fs.AT_FDCWD, p.toAbsolutePath().getParent().toString(), Fs.AT_SYMLINK_NOFOLLOW, parent), "stat " + p.getParent());
        return st[0].devMajor() != parent[0].devMajor() || st[0].devMinor() != parent[0].devMinor();
    }
}
