package kurma.seccomp;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

import kurma.spec.Json;

/**
 * Compiles an OCI seccomp profile into the BPF program stage2 installs, with the system's
 * libseccomp (through FFM), as runc and crun do.
 *
 * <p>Programs are cached by the SHA-256 of the profile: binding libseccomp's functions costs
 * the CLI tens of milliseconds, and engines send the same profile to every container, so only
 * the first container with a given profile pays it.
 */
public final class Seccomp {
    private Seccomp() {}

    /**
     * The program for {@code profile}, from {@code cacheDir} if it was compiled before.
     * {@code canonical} is the profile's JSON as given (the cache key).
     */
    public static byte[] program(Profile profile, Object canonical, Path cacheDir) {
        String key;
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(Json.write(canonical).getBytes(StandardCharsets.UTF_8));
            key = HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Path cached = cacheDir.resolve(key + ".bpf");
        try {
            if (Files.isRegularFile(cached)) return Files.readAllBytes(cached);
            Files.createDirectories(cacheDir);
            Path tmp = cacheDir.resolve("." + key + "." + ProcessHandle.current().pid());
            compile(profile, tmp);
            try {
                Files.move(tmp, cached, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, cached, StandardCopyOption.REPLACE_EXISTING);
            }
            return Files.readAllBytes(cached);
        } catch (IOException e) {
            throw new IllegalStateException("seccomp program cache " + cacheDir + ": " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ libseccomp

    private static final class Lib {
        static final Arena ARENA = Arena.global();
        static final Linker LINKER = Linker.nativeLinker();
        static final SymbolLookup LOOKUP = SymbolLookup.libraryLookup("libseccomp.so.2", ARENA);
        static final MethodHandle INIT = bind("seccomp_init", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        static final MethodHandle RELEASE = bind("seccomp_release", FunctionDescriptor.ofVoid(ADDRESS));
        static final MethodHandle ARCH_RESOLVE = bind("seccomp_arch_resolve_name", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle ARCH_ADD = bind("seccomp_arch_add", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle SYSCALL_RESOLVE = bind("seccomp_syscall_resolve_name", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle RULE_ADD = bind("seccomp_rule_add_array",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle EXPORT = bind("seccomp_export_bpf", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));

        private static MethodHandle bind(String name, FunctionDescriptor fd) {
            return LINKER.downcallHandle(LOOKUP.find(name).orElseThrow(), fd);
        }
    }

    private static final int EEXIST = 17, NR_SCMP_ERROR = -1;

    /** Builds the filter with libseccomp and exports its BPF program into {@code out}. */
    static void compile(Profile p, Path out) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ctx = (MemorySegment) Lib.INIT.invokeExact((int) p.defaultAction());
            if (ctx.equals(MemorySegment.NULL)) throw new IllegalArgumentException("linux.seccomp: libseccomp refused the default action");
            try {
                for (String arch : p.architectures()) {
                    String name = arch.startsWith("SCMP_ARCH_") ? arch.substring(10) : arch;
                    int token = (int) Lib.ARCH_RESOLVE.invokeExact(a.allocateFrom(name.toLowerCase(java.util.Locale.ROOT)));
                    if (token == 0) throw new IllegalArgumentException("linux.seccomp.architectures: unknown architecture \"" + arch + "\"");
                    int r = (int) Lib.ARCH_ADD.invokeExact(ctx, token);
                    if (r < 0 && r != -EEXIST) throw new IllegalArgumentException("linux.seccomp.architectures: " + arch + ": error " + -r);
                }
                for (Profile.Rule rule : p.rules()) {
                    // A rule with the default action changes nothing (libseccomp refuses it).
                    if (rule.action() == p.defaultAction()) continue;
                    for (String name : rule.names()) {
                        int nr = (int) Lib.SYSCALL_RESOLVE.invokeExact(a.allocateFrom(name));
                        if (nr == NR_SCMP_ERROR) continue; // unknown to this libseccomp: skipped, as runc does
                        for (List<Profile.Condition> conds : conditionSets(rule.conditions())) {
                            MemorySegment arr = a.allocate(24L * Math.max(1, conds.size()), 8);
                            for (int i = 0; i < conds.size(); i++) {
                                Profile.Condition c = conds.get(i);
                                arr.set(JAVA_INT, 24L * i, c.index());
                                arr.set(JAVA_INT, 24L * i + 4, c.op());
                                arr.set(JAVA_LONG, 24L * i + 8, c.value());
                                arr.set(JAVA_LONG, 24L * i + 16, c.valueTwo());
                            }
                            int r = (int) Lib.RULE_ADD.invokeExact(ctx, (int) rule.action(), nr, conds.size(), arr);
                            if (r < 0) {
                                throw new IllegalArgumentException("linux.seccomp.syscalls: rule for " + name
                                        + " rejected by libseccomp (error " + -r + ")");
                            }
                        }
                    }
                }
                int fd = kurma.sys.Libc.openForWriting(out.toString(), 0600);
                try {
                    int r = (int) Lib.EXPORT.invokeExact(ctx, fd);
                    if (r < 0) throw new IllegalStateException("seccomp_export_bpf: error " + -r);
                } finally {
                    kurma.sys.Libc.close(fd);
                }
            } finally {
                Lib.RELEASE.invokeExact(ctx);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * libseccomp ANDs the conditions of one rule and takes one condition per argument; several
     * conditions on the same argument are meant as alternatives, so each becomes its own rule
     * (as runc does).
     */
    static List<List<Profile.Condition>> conditionSets(List<Profile.Condition> conds) {
        boolean repeated = false;
        for (int i = 0; i < conds.size() && !repeated; i++) {
            for (int j = i + 1; j < conds.size(); j++) {
                if (conds.get(i).index() == conds.get(j).index()) repeated = true;
            }
        }
        if (!repeated) return List.of(conds);
        List<List<Profile.Condition>> out = new java.util.ArrayList<>();
        for (Profile.Condition c : conds) out.add(List.of(c));
        return out;
    }
}
