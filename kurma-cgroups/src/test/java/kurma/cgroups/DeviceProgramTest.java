package kurma.cgroups;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * {@link DeviceProgram#compile}: the exact instructions of short programs, and the verdicts of
 * longer ones, run through a small interpreter of the opcodes it emits, against the v1 kernel's
 * rules for the same list.
 */
class DeviceProgramTest {

    private static Resources.DeviceRule rule(boolean allow, char type, long major, long minor, String access) {
        return new Resources.DeviceRule(allow, type, major, minor, access);
    }

    /** One instruction as text, from its 8 little-endian bytes. */
    private static String decode(byte[] code, int i) {
        int p = i * 8;
        int op = code[p] & 0xff, dst = code[p + 1] & 0x0f, src = (code[p + 1] >> 4) & 0x0f;
        int off = (short) ((code[p + 2] & 0xff) | (code[p + 3] << 8));
        int imm = (code[p + 4] & 0xff) | (code[p + 5] & 0xff) << 8 | (code[p + 6] & 0xff) << 16 | code[p + 7] << 24;
        return String.format("%02x %d %d %d %d", op, dst, src, off, imm);
    }

    private static List<String> decodeAll(byte[] code) {
        assertEquals(0, code.length % 8);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < code.length / 8; i++) out.add(decode(code, i));
        return out;
    }

    private static final List<String> PROLOGUE = List.of(
            "61 2 1 0 0",       // r2 = ctx->access_type
            "bc 3 2 0 0",       // w3 = w2
            "54 2 0 0 65535",   // w2 &= 0xffff: type
            "74 3 0 0 16",      // w3 >>= 16: access
            "61 4 1 4 0",       // r4 = ctx->major
            "61 5 1 8 0");      // r5 = ctx->minor

    @Test
    void noRulesDenyEverything() {
        List<String> want = new ArrayList<>(PROLOGUE);
        want.addAll(List.of("b7 0 0 0 0", "95 0 0 0 0"));
        assertEquals(want, decodeAll(DeviceProgram.compile(List.of())));
    }

    @Test
    void exactDecodingOfAShortProgram() {
        byte[] code = DeviceProgram.compile(List.of(
                rule(true, 'a', -1, -1, "rwm"),
                rule(false, 'c', 1, 11, "rw"),
                rule(true, 'b', 8, -1, "r")));
        List<String> want = new ArrayList<>(PROLOGUE);
        want.addAll(List.of(
                // last rule first: allow b 8:* r
                "56 2 0 4 1",      // if type != block skip 4 (to the next block)
                "46 3 0 3 5",      // if access & (m|w) skip 3
                "56 4 0 2 8",      // if major != 8 skip 2
                "b7 0 0 0 1",      // return allow
                "95 0 0 0 0",
                // deny c 1:11 rw
                "56 2 0 7 2",      // if type != char skip 7
                "bc 0 3 0 0",      // w0 = access
                "54 0 0 0 6",      // w0 &= r|w
                "16 0 0 4 0",      // if w0 == 0 skip 4
                "56 4 0 3 1",      // if major != 1 skip 3
                "56 5 0 2 11",     // if minor != 11 skip 2
                "b7 0 0 0 0",      // return deny
                "95 0 0 0 0",
                // a *:* rwm: always matches, and ends the program (no default after it)
                "b7 0 0 0 1",
                "95 0 0 0 0"));
        assertEquals(want, decodeAll(code));
    }

    @Test
    void rulesBeforeAnUnconditionalOneAreNotEmitted() {
        byte[] code = DeviceProgram.compile(List.of(rule(true, 'c', 1, 3, "rwm"), rule(false, 'a', -1, -1, "rwm")));
        List<String> want = new ArrayList<>(PROLOGUE);
        want.addAll(List.of("b7 0 0 0 0", "95 0 0 0 0"));
        assertEquals(want, decodeAll(code));
    }

    // ---------------------------------------------------------------- interpreter

    /** Runs the program on one bpf_cgroup_dev_ctx; only the opcodes DeviceProgram emits. */
    static int run(byte[] code, int type, int major, int minor, int access) {
        long[] r = new long[11];
        int[] ctx = {access << 16 | type, major, minor};
        boolean[] set = new boolean[11];
        set[1] = true;
        int steps = 0;
        for (int pc = 0; ; pc++) {
            if (pc < 0 || pc >= code.length / 8) fail("pc " + pc + " out of the program");
            if (++steps > 10_000) fail("runaway");
            int p = pc * 8;
            int op = code[p] & 0xff, dst = code[p + 1] & 0x0f, src = (code[p + 1] >> 4) & 0x0f;
            int off = (short) ((code[p + 2] & 0xff) | (code[p + 3] << 8));
            int imm = (code[p + 4] & 0xff) | (code[p + 5] & 0xff) << 8 | (code[p + 6] & 0xff) << 16 | code[p + 7] << 24;
            long w = r[dst] & 0xffffffffL, k = imm & 0xffffffffL;
            boolean readsDst = op == 0x54 || op == 0x74 || op == 0x16 || op == 0x56 || op == 0x46;
            if ((readsDst && !set[dst]) || (op == 0xbc && !set[src])) fail("uninitialized register read at " + pc);
            switch (op) {
                case 0x61 -> {
                    if (src != 1 || off % 4 != 0 || off > 8) fail("bad ctx load at " + pc);
                    r[dst] = ctx[off / 4] & 0xffffffffL;
                }
                case 0xbc -> r[dst] = r[src] & 0xffffffffL;
                case 0x54 -> r[dst] = w & k;
                case 0x74 -> r[dst] = w >>> imm;
                case 0xb7 -> r[dst] = imm;
                case 0x16 -> { if (w == k) pc += off; }
                case 0x56 -> { if (w != k) pc += off; }
                case 0x46 -> { if ((w & k) != 0) pc += off; }
                case 0x95 -> {
                    if (!set[0]) fail("r0 unset at exit");
                    return (int) r[0];
                }
                default -> fail("unexpected opcode " + Integer.toHexString(op) + " at " + pc);
            }
            set[dst] = true;
        }
    }

    /** The v1 kernel's verdict for DeviceRules' state (default, then exceptions of the other verdict). */
    static int kernelV1(List<Resources.DeviceRule> transition, int type, int major, int minor, int access) {
        boolean defaultAllow = transition.getFirst().allow();
        for (Resources.DeviceRule e : transition.subList(1, transition.size())) {
            if ((e.type() == 'b' ? 1 : 2) != type) continue;
            if (e.major() >= 0 && e.major() != major) continue;
            if (e.minor() >= 0 && e.minor() != minor) continue;
            int granted = DeviceProgram.bits(e.access());
            // white list: one exception must cover it all; black list: any overlap denies
            if (!defaultAllow && (access & ~granted) == 0) return 1;
            if (defaultAllow && (access & granted) != 0) return 0;
        }
        return defaultAllow ? 1 : 0;
    }

    private static final int[] TYPES = {1, 2};
    private static final int[][] DEVICES = {{1, 3}, {1, 5}, {1, 11}, {1, 7}, {5, 2}, {136, 0}, {136, 7}, {8, 0}, {8, 1},
            {10, 200}, {10, 229}, {4, 1}, {0, 0}, {4095, 1048575}};
    private static final int[] ACCESSES = {1, 2, 4, 2 | 4, 1 | 2 | 4};

    private static List<Resources.DeviceRule> effective(List<Resources.DeviceRule> config) {
        DeviceRules emu = new DeviceRules();
        for (Resources.DeviceRule r : config) emu.apply(r, "test");
        for (Resources.DeviceRule r : Resources.DeviceRule.RUNC_DEFAULTS) emu.apply(r, "test");
        return emu.transition();
    }

    private static void agreesWithV1(List<Resources.DeviceRule> config) {
        List<Resources.DeviceRule> t = effective(config);
        byte[] code = DeviceProgram.compile(t);
        for (int type : TYPES) {
            for (int[] d : DEVICES) {
                for (int access : ACCESSES) {
                    assertEquals(kernelV1(t, type, d[0], d[1], access), run(code, type, d[0], d[1], access),
                            "type " + type + " " + d[0] + ":" + d[1] + " access " + access + " for " + t);
                }
            }
        }
    }

    @Test
    void runcDefaultsAlone() {
        byte[] code = DeviceProgram.compile(effective(List.of()));
        assertEquals(1, run(code, 2, 1, 3, 2 | 4), "/dev/null rw");
        assertEquals(1, run(code, 2, 136, 5, 2), "/dev/pts/5 r");
        assertEquals(1, run(code, 1, 8, 0, 1), "mknod of any block device");
        assertEquals(0, run(code, 1, 8, 0, 2), "reading a disk");
        assertEquals(0, run(code, 2, 1, 11, 4), "/dev/kmsg w");
        agreesWithV1(List.of());
    }

    @Test
    void verdictsMatchTheV1KernelForSeveralConfigs() {
        agreesWithV1(List.of(rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 1, 11, "r")));
        agreesWithV1(List.of(rule(true, 'a', -1, -1, "rwm"), rule(false, 'c', 1, 11, "rwm")));
        agreesWithV1(List.of(rule(true, 'a', -1, -1, "rwm"), rule(false, 'c', 1, 11, "w"), rule(false, 'b', 8, -1, "r")));
        agreesWithV1(List.of(rule(true, 'b', 8, -1, "rw"), rule(true, 'c', 10, -1, "r"), rule(true, 'c', 10, -1, "w")));
        agreesWithV1(List.of(rule(true, 'c', -1, -1, "rwm"), rule(true, 'b', -1, 1, "r")));
    }

    @Test
    void aDenyRuleMatchesAnyAccessItCovers() {
        // Blacklist with "c 1:11 w": opening /dev/kmsg read-write is refused, as on v1.
        byte[] code = DeviceProgram.compile(effective(List.of(rule(true, 'a', -1, -1, "rwm"), rule(false, 'c', 1, 11, "w"))));
        assertEquals(0, run(code, 2, 1, 11, 2 | 4));
        assertEquals(1, run(code, 2, 1, 11, 2));
        assertEquals(1, run(code, 1, 1, 11, 4), "a block device with the same numbers");
    }

    @Test
    void lastMatchingRuleWinsInAnyOrderedList() {
        // compile takes any ordered list, not only DeviceRules' output.
        List<Resources.DeviceRule> rules = List.of(
                rule(true, 'c', -1, -1, "rwm"),
                rule(false, 'c', 1, -1, "rwm"),
                rule(true, 'c', 1, 3, "rw"));
        byte[] code = DeviceProgram.compile(rules);
        assertEquals(1, run(code, 2, 1, 3, 2 | 4), "the last rule re-allows 1:3 rw");
        assertEquals(0, run(code, 2, 1, 3, 1), "mknod of 1:3 falls to the deny of 1:*");
        assertEquals(0, run(code, 2, 1, 5, 2));
        assertEquals(1, run(code, 2, 4, 1, 2));
        assertEquals(0, run(code, 1, 4, 1, 2), "no rule for block devices: denied");
    }

    @Test
    void largeNumbersCompareAsUnsigned32Bit() {
        byte[] code = DeviceProgram.compile(List.of(rule(true, 'c', 0xfffffffeL, 0xffffffffL, "rwm")));
        assertEquals(1, run(code, 2, 0xfffffffe, 0xffffffff, 2));
        assertEquals(0, run(code, 2, 0xfffffffe, 0, 2));
    }
}
