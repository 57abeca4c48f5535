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

import kurma.runtime.KurmaException.Code;
import kurma.spec.Json;
import kurma.sys.LockedFile;

/**
 * Container state under {@code --root}: one directory per container holding state.json, the
 * start fifo and a lock file. Every command that changes a container holds its lock, so
 * concurrent commands on one container run one after the other; state.json is replaced
 * atomically (write, rename), so a reader (state, list: no lock) never sees half of it. No fsync: the state lives
 * in /run and means nothing after a reboot, when its containers are gone too.
 */
final class StateStore {
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
            throw new KurmaException(Code.INVALID_ARGUMENT, "invalid container id " + kurma.spec.Quote.of(id) + ": use letters, digits and _ . + - (not first)");
        }
    }

    /**
     * Creates the directory of a new container, holding its first record, and locks it; fails
     * if the id is taken. The directory is made aside ({@code .ID.PID.new}), locked and given
     * the record, then renamed into place: no reader and no delete ever meets a container
     * directory without a record, nor one whose lock is free while its create runs.
     */
    public LockedFile create(StateRecord first) {
        String id = first.id();
        Path d = dir(id);
        if (d.toFile().exists()) throw alreadyExists(id); // java.io.File: no exception built when absent
        Path aside = root.resolve("." + id + "." + ProcessHandle.current().pid() + ".new");
        try {
            Files.createDirectories(root);
            try {
                Files.createDirectory(aside, DIR_MODE);
            } catch (FileAlreadyExistsException stale) {
                deleteTree(aside); // a dead process with our pid got no further than this
                Files.createDirectory(aside, DIR_MODE);
            }
        } catch (IOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, "cannot create state directory " + d + ": " + e.getMessage(), e);
        }
        LockedFile lock = null;
        try {
            lock = lockFile(aside);
            try (java.io.FileOutputStream out = new java.io.FileOutputStream(aside.resolve(STATE).toFile())) {
                out.write(Json.write(first.toJson()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            Files.move(aside, d);
            return lock;
        } catch (IOException | RuntimeException e) {
            if (lock != null) lock.close();
            try {
                deleteTree(aside);
            } catch (IOException ignored) {
                // best effort: delete --force ID removes it too
            }
            if (e instanceof FileAlreadyExistsException || e instanceof java.nio.file.DirectoryNotEmptyException) {
                throw alreadyExists(id);
            }
            if (e instanceof KurmaException k) throw k;
            throw new KurmaException(Code.SYSTEM_ERROR, "cannot create state directory " + d + ": " + e.getMessage(), e);
        }
    }

    private static final java.nio.file.attribute.FileAttribute<?> DIR_MODE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x"));

    private static KurmaException alreadyExists(String id) {
        return new KurmaException(Code.ALREADY_EXISTS, "container \"" + id + "\" already exists");
    }

    /**
     * Removes what creates of id that died before their directory was in place left aside
     * (see {@link #create}): a {@code .ID.PID.new} whose lock nobody holds. Only those: nothing
     * else of the container existed yet.
     */
    public void removeAbandoned(String id) {
        checkId(id);
        String prefix = "." + id + ".";
        if (!Files.isDirectory(root)) return;
        try (var entries = Files.newDirectoryStream(root, prefix + "*.new")) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                String pid = name.substring(prefix.length(), name.length() - ".new".length());
                if (pid.isEmpty() || !pid.chars().allMatch(c -> c >= '0' && c <= '9')) continue; // another id's
                try (FileChannel ch = FileChannel.open(p.resolve(LOCK), StandardOpenOption.WRITE)) {
                    java.nio.channels.FileLock l = ch.tryLock();
                    if (l == null) continue; // a create at work: it renames this into place or removes it
                    deleteTree(p);
                } catch (java.nio.channels.OverlappingFileLockException ours) {
                    // this JVM's own create of id, at work
                } catch (NoSuchFileException notYetLocked) {
                    deleteTree(p); // that create fails on its lock: nothing of it exists yet
                }
            }
        } catch (NoSuchFileException gone) {
            // renamed into place or removed meanwhile
        } catch (IOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, "cannot remove what a create of \"" + id + "\" left in " + root + ": " + e.getMessage(), e);
        }
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
        return new KurmaException(Code.NOT_FOUND, "container \"" + id + "\" does not exist");
    }

    private static LockedFile lockFile(Path d) {
        try {
            return LockedFile.exclusive(d.resolve(LOCK));
        } catch (NoSuchFileException e) {
            throw new KurmaException(Code.NOT_FOUND, "container state directory " + d + " vanished");
        } catch (IOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, "cannot lock " + d + ": " + e.getMessage(), e);
        }
    }

    public StateRecord read(String id) {
        Path f = dir(id).resolve(STATE);
        try {
            return StateRecord.fromJson(Files.readString(f));
        } catch (NoSuchFileException e) {
            throw notFound(id);
        } catch (IOException | RuntimeException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, "cannot read " + f + ": " + e.getMessage(), e);
        }
    }

    public void write(StateRecord s) {
        writeAtomically(dir(s.id()).resolve(STATE), Json.write(s.toJson()));
    }

    /**
     * Writes a file so that readers see either the old or the whole new content. java.io and
     * rename(2) (File.renameTo replaces the target atomically): a create writes its record
     * several times, and in the CLI's interpreted JVM the NIO path costs several times as much.
     */
    public static void writeAtomically(Path target, String content) {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try {
            try (java.io.FileOutputStream out = new java.io.FileOutputStream(tmp.toFile())) {
                out.write(content.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            if (!tmp.toFile().renameTo(target.toFile())) {
                // renameTo says no more than false: NIO for the reason
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort
            }
            throw new KurmaException(Code.SYSTEM_ERROR, "cannot write " + target + ": " + e.getMessage(), e);
        }
    }

    /** Ids of all containers that have a state file, sorted. */
    public List<String> ids() {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(root)) return out;
        try (var dirs = Files.newDirectoryStream(root)) {
            for (Path p : dirs) {
                String name = p.getFileName().toString();
                // Ids never start with '.': those are a create's directory not in place yet, and caches.
                if (!name.startsWith(".") && Files.isRegularFile(p.resolve(STATE))) out.add(name);
            }
        } catch (IOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, "cannot list " + root + ": " + e.getMessage(), e);
        }
        java.util.Collections.sort(out);
        return out;
    }

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
            throw new KurmaException(Code.SYSTEM_ERROR, "cannot remove " + d + ": " + e.getMessage(), e);
        }
    }
}
