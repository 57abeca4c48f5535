package kurma.runtime;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import kurma.spec.Json;
import kurma.sys.LockedFile;

/**
 * Container state under {@code --root}: one directory per container holding state.json, the
 * start fifo and a lock file. Every command that changes a container holds its lock, so
 * concurrent commands on one container run one after the other; state.json is replaced
 * atomically (write, rename), so a reader (state, list: no lock) never sees half of it. No fsync: the state lives
 * in /run and means nothing after a reboot, when its containers are gone too.
 */
public final class StateStore {
    static final String STATE = "state.json", LOCK = "lock", FIFO = "exec.fifo";

    private final Path root;

    public StateStore(Path root) {
        this.root = root.toAbsolutePath();
    }

    public Path root() {
        return root;
    }

    public Path dir(String id) {
        checkId(id);
        return root.resolve(id);
    }

    /** Letters, digits and _ . + - (not first), as runc accepts; by hand, not a regex (start-up). */
    public static void checkId(String id) {
        boolean ok = id != null && !id.isEmpty() && id.length() <= 1024;
        for (int i = 0; ok && i < id.length(); i++) {
            char c = id.charAt(i);
            boolean alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            ok = alnum || (i > 0 && (c == '_' || c == '.' || c == '+' || c == '-'));
        }
        if (!ok) {
            throw new KurmaException("invalid container id " + kurma.spec.Quote.of(id) + ": use letters, digits and _ . + - (not first)");
        }
    }

    /** Creates the directory of a new container and locks it; fails if the id is taken. */
    public LockedFile create(String id) {
        Path d = dir(id);
        try {
            Files.createDirectories(root);
            Files.createDirectory(d, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
        } catch (FileAlreadyExistsException e) {
            throw new KurmaException("container \"" + id + "\" already exists");
        } catch (IOException e) {
            throw new KurmaException("cannot create state directory " + d + ": " + e.getMessage(), e);
        }
        return lockFile(d);
    }

    /** Locks an existing container; fails with "does not exist" otherwise. */
    public LockedFile lock(String id) {
        Path d = dir(id);
        if (!Files.isDirectory(d)) throw notFound(id);
        LockedFile l = lockFile(d);
        if (!Files.isDirectory(d)) { // deleted while we waited for the lock
            l.close();
            throw notFound(id);
        }
        return l;
    }

    static KurmaException notFound(String id) {
        return new KurmaException("container \"" + id + "\" does not exist");
    }

    private static LockedFile lockFile(Path d) {
        try {
            return LockedFile.exclusive(d.resolve(LOCK));
        } catch (NoSuchFileException e) {
            throw new KurmaException("container state directory " + d + " vanished");
        } catch (IOException e) {
            throw new KurmaException("cannot lock " + d + ": " + e.getMessage(), e);
        }
    }

    public ContainerState read(String id) {
        Path f = dir(id).resolve(STATE);
        try {
            return ContainerState.fromJson(Files.readString(f));
        } catch (NoSuchFileException e) {
            throw notFound(id);
        } catch (IOException | RuntimeException e) {
            throw new KurmaException("cannot read " + f + ": " + e.getMessage(), e);
        }
    }

    public void write(ContainerState s) {
        writeAtomically(dir(s.id()).resolve(STATE), Json.write(s.toJson()));
    }

    /** Writes a file so that readers see either the old or the whole new content. */
    public static void writeAtomically(Path target, String content) {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ch.write(java.nio.ByteBuffer.wrap(content.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort
            }
            throw new KurmaException("cannot write " + target + ": " + e.getMessage(), e);
        }
    }

    /** Ids of all containers that have a state file, sorted. */
    public List<String> ids() {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(root)) return out;
        try (var dirs = Files.newDirectoryStream(root)) {
            for (Path p : dirs) {
                if (Files.isRegularFile(p.resolve(STATE))) out.add(p.getFileName().toString());
            }
        } catch (IOException e) {
            throw new KurmaException("cannot list " + root + ": " + e.getMessage(), e);
        }
        java.util.Collections.sort(out);
        return out;
    }

    /** Removes a container's directory and the files in it (Kurma puts no directories there). */
    /** Deletes a directory and what it holds (the notify/ subdirectory included), never following a symlink. */
    private static void deleteTree(Path d) throws IOException {
        if (Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try (var files = Files.newDirectoryStream(d)) {
                for (Path p : files) deleteTree(p);
            }
        }
        Files.deleteIfExists(d);
    }

    public void remove(String id) {
        Path d = dir(id);
        try {
            deleteTree(d);
        } catch (NoSuchFileException gone) {
            // already removed
        } catch (IOException e) {
            throw new KurmaException("cannot remove " + d + ": " + e.getMessage(), e);
        }
    }
}
