package kurma.seccomp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import kurma.spec.Json;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ENOSYS prefix: compiled programs are installed in a real process on this kernel (the
 * helper src/test/c/filtered.c, built here with cc), which makes calls and reports what the
 * kernel answered. Architectures this machine cannot run are checked by interpreting the
 * compiled program (a tiny cBPF evaluator below).
 */
class EnosysPrefixTest {
    private static final int EPERM = 1, EACCES = 13, EINVAL = 22, ENOSYS = 38, SIGSYS_EXIT = 128 + 31;
    private static final int X32 = 0x40000000;
    private static final int ALLOW = 0x7fff0000, RET_EPERM = 0x00050000 | EPERM, RET_ENOSYS = 0x00050000 | ENOSYS;

    @TempDir
    static Path dir;
    private static Path helper;

    @BeforeAll
    static void buildHelper() throws Exception {
        Assumptions.assumeTrue("amd64".equals(System.getProperty("os.arch")),
                "the real-process checks use x86_64 call numbers");
        helper = dir.resolve("filtered");
        Path source = Path.of("src/test/c/filtered.c").toAbsolutePath();
        Process cc = new ProcessBuilder("cc", "-O2", "-o", helper.toString(), source.toString())
                .redirectErrorStream(true).start();
        String out = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, cc.waitFor(), () -> "cc (gcc is a build prerequisite): " + out);
    }

    @SuppressWarnings("unchecked")
    private static Profile profile(String defaultAction, String archs, String extraRules) {
        String json = "{\"defaultAction\": " + defaultAction + ", \"architectures\": [" + archs + "], \"syscalls\": ["
                + "{\"names\": [\"write\", \"exit_group\", \"getpid\"], \"action\": \"SCMP_ACT_ALLOW\"}"
                + extraRules + "]}";
        return Profile.parse((Map<String, Object>) Json.parse(json));
    }

    private static Profile errnoDefault(String archs, String extraRules) {
        return profile("\"SCMP_ACT_ERRNO\"", archs, extraRules);
    }

    private static byte[] compile(Profile p) throws IOException {
        return Seccomp.compile(p, Files.createTempFile(dir, "bpf", ".tmp"));
    }

    /** What the helper printed under {@code program}, one line per call, and how it ended. */
    private record Run(List<String> lines, int exit) {}

    private static Run run(byte[] program, long... nrs) throws Exception {
        Path file = Files.createTempFile(dir, "prog", ".bpf");
        Files.write(file, program);
        List<String> cmd = new ArrayList<>(List.of(helper.toString(), file.toString()));
        for (long nr : nrs) cmd.add(Long.toString(nr));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(out.lines().toList(), p.waitFor());
    }

    private static String line(long nr, int errno) {
        return nr + " " + errno;
    }

    @Test
    void underAnErrnoDefaultCallsNewerThanTheProfileGetEnosysAndOlderOnesTheDefault() throws Exception {
        // x86_64 numbers: getpid 39, uname 63, getuid 102, exit_group 231 (the largest named),
        // epoll_wait 232, faccessat2 439, 1000 does not exist.
        Profile p = errnoDefault("\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"",
                ", {\"names\": [\"uname\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13}");
        Run r = run(compile(p), 39, 63, 102, 232, 439, 1000);
        assertEquals(List.of("39 ok", line(63, EACCES), line(102, EPERM), line(232, ENOSYS), line(439, ENOSYS),
                line(1000, ENOSYS)), r.lines());
        assertEquals(0, r.exit());

        // libseccomp's program alone, as before the prefix: the new calls get the default EPERM.
        Seccomp.Compiled parts = Seccomp.compileParts(p, Files.createTempFile(dir, "bpf", ".tmp"));
        assertFalse(parts.prefix().isEmpty());
        Run plain = run(parts.libseccomp(), 102, 232, 439);
        assertEquals(List.of(line(102, EPERM), line(232, EPERM), line(439, EPERM)), plain.lines());
    }

    @Test
    void anX32CallIsLeftToLibseccompWhenTheProfileDoesNotListX32() throws Exception {
        // 0x40000000|500 is above x86_64's largest number, but it is an x32 call: the prefix must
        // not answer it; libseccomp kills it (bad architecture).
        Run r = run(compile(errnoDefault("\"SCMP_ARCH_X86_64\"", "")), 232, X32 | 500, 39);
        assertEquals(List.of(line(232, ENOSYS)), r.lines());
        assertEquals(SIGSYS_EXIT, r.exit(), "killed by SIGSYS");
    }

    @Test
    void x32CallsAreJudgedAgainstTheX32NumbersWhenListed() throws Exception {
        // x32 getuid (102) is below x32's largest named number: EPERM; x32 300 is above it: ENOSYS;
        // x86_64 keeps its own limit.
        Run r = run(compile(errnoDefault("\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X32\"", "")), X32 | 102, X32 | 300, 102, 232);
        assertEquals(List.of(line(X32 | 102, EPERM), line(X32 | 300, ENOSYS), line(102, EPERM), line(232, ENOSYS)),
                r.lines());
    }

    @Test
    void aKillDefaultStillKillsOlderCallsButNotNewerOnes() throws Exception {
        byte[] program = compile(profile("\"SCMP_ACT_KILL_PROCESS\"", "\"SCMP_ARCH_X86_64\"", ""));
        Run r = run(program, 232, 439, 102, 39);
        assertEquals(List.of(line(232, ENOSYS), line(439, ENOSYS)), r.lines());
        assertEquals(SIGSYS_EXIT, r.exit(), "getuid is killed");
    }

    @Test
    void aNameWhoseRuleChangesNothingStillCountsAsKnown() throws Exception {
        // faccessat2 (439) is named with the default action itself: the author knew it, so it
        // keeps EPERM; process_madvise (440) is newer than every name.
        Profile p = errnoDefault("\"SCMP_ARCH_X86_64\"", ", {\"names\": [\"faccessat2\"], \"action\": \"SCMP_ACT_ERRNO\"}");
        assertEquals(List.of(line(439, EPERM), line(440, ENOSYS)), run(compile(p), 439, 440).lines());
    }

    @Test
    void noPrefixWhenTheDefaultLetsCallsThroughOrIsEnosysAlready() throws Exception {
        for (String action : List.of("\"SCMP_ACT_ALLOW\"", "\"SCMP_ACT_LOG\"", "\"SCMP_ACT_TRACE\"",
                "\"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38")) {
            Profile p = profile(action, "\"SCMP_ARCH_X86_64\"", ", {\"names\": [\"uname\"], \"action\": \"SCMP_ACT_KILL\"}");
            Seccomp.Compiled parts = Seccomp.compileParts(p, Files.createTempFile(dir, "bpf", ".tmp"));
            assertTrue(parts.prefix().isEmpty(), action);
            assertArrayEquals(parts.libseccomp(), compile(p), action);
        }
        for (String action : List.of("\"SCMP_ACT_KILL\"", "\"SCMP_ACT_KILL_PROCESS\"", "\"SCMP_ACT_TRAP\"",
                "\"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 95")) {
            Profile p = profile(action, "\"SCMP_ARCH_X86_64\"", "");
            assertFalse(Seccomp.compileParts(p, Files.createTempFile(dir, "bpf", ".tmp")).prefix().isEmpty(), action);
        }
        // Under an allow default a new call reaches the kernel: epoll_wait(0, NULL, 0, 0) is EINVAL.
        Run r = run(compile(profile("\"SCMP_ACT_ALLOW\"", "\"SCMP_ARCH_X86_64\"", "")), 232);
        assertEquals(List.of(line(232, EINVAL)), r.lines());
    }

    @Test
    void otherArchitecturesGetTheirOwnLimits() throws Exception {
        // Interpreted, as this machine runs none of them. Largest named numbers: i386 exit_group
        // 252, aarch64 getpid 172, arm exit_group 248; x86_64 (native, always in) 231.
        Profile p = errnoDefault("\"SCMP_ARCH_X86\", \"SCMP_ARCH_AARCH64\", \"SCMP_ARCH_ARM\"", "");
        byte[] program = compile(p);
        int i386 = 0x40000003, aarch64 = 0xc00000b7, arm = 0x40000028, x86_64 = 0xc000003e, ppc64le = 0xc0000015;
        assertEquals(ALLOW, Bpf.run(program, 20, i386), "i386 getpid");
        assertEquals(RET_EPERM, Bpf.run(program, 199, i386), "i386 getuid32");
        assertEquals(RET_ENOSYS, Bpf.run(program, 253, i386));
        assertEquals(RET_ENOSYS, Bpf.run(program, 439, i386), "i386 faccessat2");
        assertEquals(ALLOW, Bpf.run(program, 172, aarch64), "aarch64 getpid");
        assertEquals(RET_EPERM, Bpf.run(program, 100, aarch64));
        assertEquals(RET_ENOSYS, Bpf.run(program, 173, aarch64));
        assertEquals(ALLOW, Bpf.run(program, 20, arm), "arm getpid");
        assertEquals(RET_EPERM, Bpf.run(program, 100, arm));
        assertEquals(RET_ENOSYS, Bpf.run(program, 249, arm));
        assertEquals(RET_ENOSYS, Bpf.run(program, 232, x86_64));
        assertEquals(RET_EPERM, Bpf.run(program, 102, x86_64));
        assertEquals(0, Bpf.run(program, 1000, ppc64le), "an architecture not in the filter: libseccomp kills");
    }

    @Test
    void onS390CallZeroGetsEnosys() {
        // libseccomp cannot put big-endian s390x next to this machine's x86_64 in one filter, so
        // the prefix alone is interpreted, followed by a marker for "libseccomp's program decides".
        int s390x = 0x80000016, marker = 0x7fff1234;
        List<EnosysPrefix.Insn> prefix = new ArrayList<>(EnosysPrefix.instructions(List.of(new EnosysPrefix.Limit(s390x, 248))));
        prefix.add(new EnosysPrefix.Insn(EnosysPrefix.RET_K, 0, 0, marker));
        byte[] program = EnosysPrefix.encode(prefix);
        assertEquals(RET_ENOSYS, Bpf.run(program, 0, s390x), "s390x's multiplexer for unknown numbers");
        assertEquals(RET_ENOSYS, Bpf.run(program, 249, s390x));
        assertEquals(marker, Bpf.run(program, 248, s390x));
        assertEquals(marker, Bpf.run(program, 1, s390x));
        assertEquals(marker, Bpf.run(program, 1000, 0xc000003e), "another architecture");
    }

    @Test
    void aProgramCachedBeforeThePrefixIsNotServed() throws Exception {
        // Format 1 keyed a program by the SHA-256 of the profile's JSON alone.
        @SuppressWarnings("unchecked")
        Map<String, Object> raw = (Map<String, Object>) Json.parse(
                "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"write\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
        Path cache = Files.createDirectories(dir.resolve("cache"));
        String oldKey = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(Json.write(raw).getBytes(StandardCharsets.UTF_8)));
        byte[] old = {6, 0, 0, 0, 0, 0, (byte) 0xff, 0x7f}; // ret ALLOW: what an old cache entry might say
        Files.write(cache.resolve(oldKey + ".bpf"), old);
        byte[] program = Seccomp.program(Profile.parse(raw), raw, cache);
        assertNotEquals(8, program.length);
        assertEquals(RET_ENOSYS, Bpf.run(program, 439, 0xc000003e));
        try (var s = Files.list(cache)) {
            assertEquals(2, s.count(), "the old entry and the new one");
        }
    }

    /**
     * A cBPF interpreter for what seccomp programs use (loads of seccomp_data words, ALU with
     * constants, jumps, returns); anything else fails the test.
     */
    static final class Bpf {
        static int run(byte[] program, int nr, int arch) {
            ByteBuffer b = ByteBuffer.wrap(program).order(ByteOrder.nativeOrder());
            int a = 0, x = 0;
            int[] mem = new int[16];
            for (int pc = 0; pc < program.length / 8; pc++) {
                int code = b.getShort(pc * 8) & 0xffff, jt = b.get(pc * 8 + 2) & 0xff, jf = b.get(pc * 8 + 3) & 0xff;
                int k = b.getInt(pc * 8 + 4);
                switch (code) {
                    case 0x20 -> a = k == 0 ? nr : k == 4 ? arch : 0; // ld [k]: nr, arch; ip and args are 0
                    case 0x00 -> a = k;
                    case 0x60 -> a = mem[k];
                    case 0x61 -> x = mem[k];
                    case 0x02 -> mem[k] = a;
                    case 0x03 -> mem[k] = x;
                    case 0x07 -> x = a;
                    case 0x87 -> a = x;
                    case 0x54 -> a &= k;
                    case 0x44 -> a |= k;
                    case 0x04 -> a += k;
                    case 0x05 -> pc += k;
                    case 0x15 -> pc += a == k ? jt : jf;
                    case 0x25 -> pc += Integer.compareUnsigned(a, k) > 0 ? jt : jf;
                    case 0x35 -> pc += Integer.compareUnsigned(a, k) >= 0 ? jt : jf;
                    case 0x45 -> pc += (a & k) != 0 ? jt : jf;
                    case 0x06 -> { return k; }
                    case 0x16 -> { return a; }
                    default -> throw new AssertionError("instruction " + pc + ": opcode 0x" + Integer.toHexString(code));
                }
            }
            throw new AssertionError("ran off the end of the program");
        }
    }
}
