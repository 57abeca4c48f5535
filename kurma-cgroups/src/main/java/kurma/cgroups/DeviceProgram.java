package kurma.cgroups;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import kurma.sys.Errno;
import kurma.sys.Libc;
import kurma.sys.SysException;

/**
 * Device rules for a cgroup v2 directory, which has no devices controller: an eBPF program of
 * type BPF_PROG_TYPE_CGROUP_DEVICE, attached to the cgroup, that the kernel runs on every
 * mknod and device open of its processes, with
 * {@code struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }} where
 * {@code access_type = access << 16 | type} (type: block 1, char 2; access: mknod 1, read 2,
 * write 4). It returns 1 to allow and 0 to deny.
 *
 * <p>{@link #compile} takes rules in order, the last matching one deciding (as in the devices
 * cgroup: each write overrides what came before), and emits them from last to first so that
 * the first block that matches returns its verdict; nothing matching means deny. Kurma feeds
 * it {@link DeviceRules#transition()} (an {@code a} rule, then exceptions that all have the
 * other verdict), the same list it writes to a v1 devices cgroup, so both behave alike. Access
 * is matched as the v1 kernel does: an allow rule must cover every bit asked for, a deny rule
 * matches when it covers any of them (runc's filter needs every bit for a deny too, which lets
 * O_RDWR through a rule denying only w; Kurma keeps the v1 meaning).
 *
 * <p>Instructions are the kernel's {@code struct bpf_insn}, 8 bytes little-endian: opcode,
 * dst_reg (low nibble) and src_reg (high nibble), s16 offset, s32 immediate.
 */
final class DeviceProgram {
    private DeviceProgram() {}

    // Opcodes used (class | operation | source).
    static final int LDX_W = 0x61;      // dst = *(u32 *)(src + off)
    static final int MOV32_X = 0xbc;    // w_dst = w_src
    static final int AND32_K = 0x54;    // w_dst &= imm
    static final int RSH32_K = 0x74;    // w_dst >>= imm
    static final int MOV64_K = 0xb7;    // dst = imm
    static final int JEQ32_K = 0x16;    // if w_dst == imm goto pc + 1 + off
    static final int JNE32_K = 0x56;    // if w_dst != imm goto pc + 1 + off
    static final int JSET32_K = 0x46;   // if w_dst & imm goto pc + 1 + off
    static final int EXIT = 0x95;       // return r0

    static final int BLOCK = 1, CHAR = 2;
    static final int MKNOD = 1, READ = 2, WRITE = 4, ALL = 7;

    // Registers: r1 is the context; the prologue loads r2 = type, r3 = access, r4 = major, r5 = minor; r0 is scratch.
    private static final int R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5;

    /** The program for {@code rules} (last match wins, no match denies), as instructions of 8 bytes. */
    static byte[] compile(List<Resources.DeviceRule> rules) {
        Code c = new Code();
        c.add(LDX_W, R2, R1, 0, 0);       // r2 = access_type
        c.add(MOV32_X, R3, R2, 0, 0);     // w3 = w2
        c.add(AND32_K, R2, 0, 0, 0xffff); // w2 = type
        c.add(RSH32_K, R3, 0, 0, 16);     // w3 = access
        c.add(LDX_W, R4, R1, 4, 0);       // r4 = major
        c.add(LDX_W, R5, R1, 8, 0);       // r5 = minor
        for (int i = rules.size() - 1; i >= 0; i--) {
            if (!block(c, rules.get(i))) return c.bytes(); // it matches everything: what comes before is unreachable
        }
        c.add(MOV64_K, R0, 0, 0, 0);      // no rule matched: deny
        c.add(EXIT, 0, 0, 0, 0);
        return c.bytes();
    }

    /**
     * One rule: a test for each condition, jumping past the block when it fails, then
     * "return verdict". Returns false when the block has no condition (it always returns).
     */
    private static boolean block(Code c, Resources.DeviceRule r) {
        if (r.major() > 0xffffffffL || r.minor() > 0xffffffffL) return true; // no device has it: never matches
        int start = c.size();
        if (r.type() != 'a') c.add(JNE32_K, R2, 0, -1, r.type() == 'b' ? BLOCK : CHAR);
        int access = bits(r.access());
        if (r.allow() && access != ALL) {
            c.add(JSET32_K, R3, 0, -1, ~access & ALL);      // asks for a bit the rule does not grant
        } else if (!r.allow() && access != ALL) {
            c.add(MOV32_X, R0, R3, 0, 0);
            c.add(AND32_K, R0, 0, 0, access);
            c.add(JEQ32_K, R0, 0, -1, 0);                    // asks for none of the bits the rule denies
        }
        if (r.major() >= 0) c.add(JNE32_K, R4, 0, -1, (int) r.major());
        if (r.minor() >= 0) c.add(JNE32_K, R5, 0, -1, (int) r.minor());
        boolean conditional = c.size() > start;
        c.add(MOV64_K, R0, 0, 0, r.allow() ? 1 : 0);
        c.add(EXIT, 0, 0, 0, 0);
        c.patchSkips(start); // every "-1" offset of this block: to the instruction after its exit
        return conditional;
    }

    static int bits(String access) {
        int b = 0;
        for (int i = 0; i < access.length(); i++) {
            char ch = access.charAt(i);
            b |= ch == 'm' ? MKNOD : ch == 'r' ? READ : ch == 'w' ? WRITE : 0;
        }
        return b;
    }

    /** A growing instruction buffer. */
    private static final class Code {
        private byte[] buf = new byte[64 * 8];
        private int n; // instructions

        void add(int op, int dst, int src, int off, int imm) {
            if ((n + 1) * 8 > buf.length) buf = java.util.Arrays.copyOf(buf, buf.length * 2);
            int p = n * 8;
            buf[p] = (byte) op;
            buf[p + 1] = (byte) ((src << 4) | dst);
            buf[p + 2] = (byte) off;
            buf[p + 3] = (byte) (off >> 8);
            buf[p + 4] = (byte) imm;
            buf[p + 5] = (byte) (imm >> 8);
            buf[p + 6] = (byte) (imm >> 16);
            buf[p + 7] = (byte) (imm >> 24);
            n++;
        }

        int size() {
            return n;
        }

        void patchSkips(int from) {
            for (int i = from; i < n; i++) {
                int p = i * 8;
                if ((buf[p] & 0x07) == 0x06 && buf[p + 2] == -1 && buf[p + 3] == -1) { // a JMP32 still unresolved
                    int off = n - (i + 1);
                    if (off > Short.MAX_VALUE) throw new IllegalArgumentException("device rule block too long");
                    buf[p + 2] = (byte) off;
                    buf[p + 3] = (byte) (off >> 8);
                }
            }
        }

        byte[] bytes() {
            return java.util.Arrays.copyOf(buf, n * 8);
        }
    }

    // ------------------------------------------------------------------ loading

    private static final int BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8;
    private static final int BPF_PROG_TYPE_CGROUP_DEVICE = 15, BPF_CGROUP_DEVICE = 6, BPF_F_ALLOW_MULTI = 2;
    private static final int LOG_SIZE = 1 << 16;

    /**
     * Loads {@code code} and attaches it to the cgroup directory {@code dir}
     * (BPF_F_ALLOW_MULTI: it runs with the programs of the parents, and all must allow). The
     * program fd is closed afterwards; the attachment keeps the program.
     *
     * @throws SysException a one-line message naming the step, e.g.
     *     {@code loading the cgroup device program: Operation not permitted (EPERM)}
     */
    static void attach(Path dir, byte[] code) {
        int cg = Libc.openDirectory(dir.toString());
        try {
            int prog = load(code);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment attr = a.allocate(32); // union bpf_attr, zeroed
                attr.set(ValueLayout.JAVA_INT_UNALIGNED, 0, cg);                 // target_fd
                attr.set(ValueLayout.JAVA_INT_UNALIGNED, 4, prog);               // attach_bpf_fd
                attr.set(ValueLayout.JAVA_INT_UNALIGNED, 8, BPF_CGROUP_DEVICE);  // attach_type
                attr.set(ValueLayout.JAVA_INT_UNALIGNED, 12, BPF_F_ALLOW_MULTI); // attach_flags
                long r = Libc.bpf(BPF_PROG_ATTACH, attr, attr.byteSize());
                if (r < 0) throw new SysException("attaching the cgroup device program to " + dir, (int) -r);
            } finally {
                Libc.close(prog);
            }
        } finally {
            Libc.close(cg);
        }
    }

    /** BPF_PROG_LOAD; on a verifier refusal, loads again with the log to name its reason. */
    private static int load(byte[] code) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment insns = a.allocate(code.length, 8);
            insns.copyFrom(MemorySegment.ofArray(code));
            MemorySegment license = a.allocateFrom("Apache-2.0"); // device programs call no GPL-only helper
            MemorySegment attr = a.allocate(128, 8); // union bpf_attr, zeroed past the fields used
            attr.set(ValueLayout.JAVA_INT, 0, BPF_PROG_TYPE_CGROUP_DEVICE); // prog_type
            attr.set(ValueLayout.JAVA_INT, 4, code.length / 8);             // insn_cnt
            attr.set(ValueLayout.JAVA_LONG, 8, insns.address());            // insns
            attr.set(ValueLayout.JAVA_LONG, 16, license.address());         // license
            long r = Libc.bpf(BPF_PROG_LOAD, attr, attr.byteSize());
            if (r >= 0) return (int) r;
            int errno = (int) -r;
            String why = "";
            if (errno == Errno.EINVAL || errno == Errno.EACCES) {
                MemorySegment log = a.allocate(LOG_SIZE);
                attr.set(ValueLayout.JAVA_INT, 24, 1);                      // log_level
                attr.set(ValueLayout.JAVA_INT, 28, LOG_SIZE);               // log_size
                attr.set(ValueLayout.JAVA_LONG, 32, log.address());         // log_buf
                long again = Libc.bpf(BPF_PROG_LOAD, attr, attr.byteSize());
                if (again >= 0) return (int) again;
                why = lastLine(log.getString(0, StandardCharsets.UTF_8));
            }
            SysException e = new SysException("loading the cgroup device program", errno);
            if (why.isEmpty()) throw e;
            throw new SysException("loading the cgroup device program (verifier: " + why + ")", errno);
        }
    }

    /** The verifier's reason: the last line of its log that is not one of its closing statistics. */
    private static String lastLine(String log) {
        int end = log.length();
        while (end > 0) {
            int start = log.lastIndexOf('\n', end - 1) + 1;
            String line = log.substring(start, end).trim();
            end = start - 1;
            if (line.isEmpty() || line.startsWith("processed ") || line.startsWith("verification time")
                    || line.startsWith("stack depth")) continue;
            return line;
        }
        return "";
    }
}
