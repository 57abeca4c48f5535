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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import kurma.spec.Json;

/**
 * Compiles an OCI seccomp profile into the BPF program stage2 installs, with the system's
 * libseccomp (through FFM), as runc and crun do.
 *
 * <p>Unless the default action lets calls through, the program starts with an {@link
 * EnosysPrefix}: calls newer than every call the profile names get ENOSYS, so that libc falls
 * back to the older calls (runc does the same).
 *
 * <p>Programs are cached by the SHA-256 of the profile and {@link #FORMAT}: binding libseccomp's
 * functions costs the CLI tens of milliseconds, and engines send the same profile to every
 * container, so only the first container with a given profile pays it.
 */
public final class Seccomp {
    private Seccomp() {}

    /**
     * The version of what a cached program holds, part of its key: a program compiled by an
     * older Kurma for the same profile (format 1: libseccomp's program alone, keyed by the
     * profile's hash only) is never served. Raise it whenever the compiled program changes.
     */
    static final String FORMAT = "kurma-seccomp-2";

    /** The kernel's limit on a filter's length (BPF_MAXINSNS). */
    private static final int MAX_INSNS = 4096;

    /**
     * The program for {@code profile}, from {@code cacheDir} if it was compiled before.
     * {@code canonical} is the profile's JSON as given (the cache key).
     */
    public static byte[] program(Profile profile, Object canonical, Path cacheDir) {
        String key;
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest((FORMAT + "\n" + Json.write(canonical)).getBytes(StandardCharsets.UTF_8));
            key = HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Path cached = cacheDir.resolve(key + ".bpf");
        try {
            if (Files.isRegularFile(cached)) return Files.readAllBytes(cached);
            Files.createDirectories(cacheDir);
            Path tmp = cacheDir.resolve("." + key + "." + ProcessHandle.current().pid());
            try {
                Files.write(tmp, compile(profile, tmp));
            } catch (RuntimeException | IOException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
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
        static final MethodHandle ARCH_NATIVE = bind("seccomp_arch_native", FunctionDescriptor.of(JAVA_INT));
        static final MethodHandle SYSCALL_RESOLVE = bind("seccomp_syscall_resolve_name", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle SYSCALL_RESOLVE_ARCH = bind("seccomp_syscall_resolve_name_arch",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle RULE_ADD = bind("seccomp_rule_add_array",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle EXPORT = bind("seccomp_export_bpf", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));

        private static MethodHandle bind(String name, FunctionDescriptor fd) {
            return LINKER.downcallHandle(LOOKUP.find(name).orElseThrow(), fd);
        }
    }

    private static final int EEXIST = 17, NR_SCMP_ERROR = -1;

    /** A compiled filter: the ENOSYS prefix (maybe empty), then libseccomp's program. */
    record Compiled(List<EnosysPrefix.Insn> prefix, byte[] libseccomp) {
        /** Both, as stage2 installs them. */
        byte[] program() {
            byte[] head = EnosysPrefix.encode(prefix);
            byte[] all = java.util.Arrays.copyOf(head, head.length + libseccomp.length);
            System.arraycopy(libseccomp, 0, all, head.length, libseccomp.length);
            return all;
        }
    }

    /**
     * Builds the filter with libseccomp, exports its BPF program through {@code scratch} (a file
     * this call may overwrite) and puts the ENOSYS prefix in front of it when the default action
     * asks for one.
     */
    static byte[] compile(Profile p, Path scratch) {
        Compiled c = compileParts(p, scratch);
        byte[] program = c.program();
        if (program.length / 8 > MAX_INSNS) {
            throw new IllegalArgumentException("linux.seccomp: the compiled filter has " + program.length / 8
                    + " instructions, more than the kernel's " + MAX_INSNS);
        }
        return program;
    }

    static Compiled compileParts(Profile p, Path scratch) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ctx = (MemorySegment) Lib.INIT.invokeExact((int) p.defaultAction());
            if (ctx.equals(MemorySegment.NULL)) throw new IllegalArgumentException("linux.seccomp: libseccomp refused the default action");
            try {
                // The filter's architectures: libseccomp's context always holds the native one.
                Set<Integer> archs = new LinkedHashSet<>();
                archs.add((int) Lib.ARCH_NATIVE.invokeExact());
                for (String arch : p.architectures()) {
                    String name = arch.startsWith("SCMP_ARCH_") ? arch.substring(10) : arch;
                    int token = (int) Lib.ARCH_RESOLVE.invokeExact(a.allocateFrom(name.toLowerCase(java.util.Locale.ROOT)));
                    if (token == 0) throw new IllegalArgumentException("linux.seccomp.architectures: unknown architecture \"" + arch + "\"");
                    int r = (int) Lib.ARCH_ADD.invokeExact(ctx, token);
                    if (r < 0 && r != -EEXIST) throw new IllegalArgumentException("linux.seccomp.architectures: " + arch + ": error " + -r);
                    archs.add(token);
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
                List<EnosysPrefix.Insn> prefix = EnosysPrefix.appliesTo(p.defaultAction())
                        ? EnosysPrefix.instructions(limits(p, archs, a)) : List.of();
                int fd = kurma.sys.Libc.openForWriting(scratch.toString(), 0600);
                try {
                    int r = (int) Lib.EXPORT.invokeExact(ctx, fd);
                    if (r < 0) throw new IllegalStateException("seccomp_export_bpf: error " + -r);
                } finally {
                    kurma.sys.Libc.close(fd);
                }
                return new Compiled(prefix, Files.readAllBytes(scratch));
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
     * Per architecture of the filter, the largest number of a call the profile names: every
     * name of every rule counts, whatever its action (a rule with the default action still says
     * its author knew the call). Names this architecture does not have (libseccomp answers -1,
     * or a negative pseudo-number for calls multiplexed there) do not count; an architecture
     * with no number at all gets no limit.
     */
    private static List<EnosysPrefix.Limit> limits(Profile p, Set<Integer> archs, Arena a) throws Throwable {
        List<MemorySegment> names = new java.util.ArrayList<>();
        for (Profile.Rule rule : p.rules()) for (String name : rule.names()) names.add(a.allocateFrom(name));
        List<EnosysPrefix.Limit> out = new java.util.ArrayList<>();
        for (int arch : archs) {
            int largest = -1;
            for (MemorySegment name : names) largest = Math.max(largest, (int) Lib.SYSCALL_RESOLVE_ARCH.invokeExact(arch, name));
            if (largest > 0) out.add(new EnosysPrefix.Limit(arch, largest));
        }
        return out;
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
