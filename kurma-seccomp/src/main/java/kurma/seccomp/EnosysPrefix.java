package kurma.seccomp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A few BPF instructions placed in front of libseccomp's program so that a system call newer
 * than every call the profile names fails with ENOSYS instead of the profile's default action,
 * as runc does (its libcontainer/seccomp/patchbpf).
 *
 * <p>Why: an allow-list profile written for an older kernel (Docker's and Kubernetes' defaults
 * before 5.8, say) gives EPERM to faccessat2, clone3, openat2, close_range and every call after
 * them. glibc tries those first and falls back to the old call only on ENOSYS, the kernel's answer
 * for a call it does not have; on EPERM the program just fails. "Newer" is judged per
 * architecture by number: a call numbered above the largest number the profile names on that
 * architecture (whatever the rule's action) was unknown to the profile's author. Calls at or
 * below it that the profile does not name keep the default action: the profile meant them.
 *
 * <p>The prefix dispatches on seccomp_data.arch; an architecture it does not handle falls
 * through to libseccomp's program unchanged (which gives it the bad-architecture action).
 * x86_64 and x32 share AUDIT_ARCH_X86_64 and differ by bit 30 of the number: an x32 call is
 * judged against the x32 numbers only when the profile lists x32, otherwise libseccomp's program
 * decides (it kills it), never this prefix. On s390 and s390x, call 0 is the kernel's
 * multiplexer for numbers it does not know and gets ENOSYS too. Every conditional jump here
 * goes only a few instructions forward; the long ones are unconditional (32-bit offsets), so the
 * prefix assembles for any number of architectures.
 */
final class EnosysPrefix {
    private EnosysPrefix() {}

    /** One cBPF instruction (struct sock_filter). */
    record Insn(int code, int jt, int jf, int k) {}

    /**
     * The largest system call number the profile names on one libseccomp architecture
     * ({@code arch} is libseccomp's token, which is the AUDIT_ARCH value except for x32).
     */
    record Limit(int arch, int largest) {}

    static final int AUDIT_ARCH_X86_64 = 0xc000003e;
    static final int SCMP_ARCH_X32 = 0x4000003e; // libseccomp's own value: x32 has no AUDIT_ARCH of its own
    static final int AUDIT_ARCH_S390 = 0x16, AUDIT_ARCH_S390X = 0x80000016;
    static final int X32_SYSCALL_BIT = 0x40000000;
    static final int RET_ERRNO_ENOSYS = 0x00050000 | 38;

    static final int LD_W_ABS = 0x20, JA = 0x05, JEQ_K = 0x15, JGT_K = 0x25, JSET_K = 0x45, RET_K = 0x06;
    private static final int OFF_NR = 0, OFF_ARCH = 4;

    /**
     * Whether the prefix belongs in front of a filter with this default action: not when the
     * default lets calls through (allow, log; trace too, as runc decides: a tracer is expected
     * to handle calls it does not know), and not when the default already is ENOSYS.
     */
    static boolean appliesTo(long defaultAction) {
        long action = defaultAction & 0xffff0000L;
        if (action == 0x7fff0000L || action == 0x7ffc0000L || action == 0x7ff00000L) return false;
        return defaultAction != RET_ERRNO_ENOSYS;
    }

    // Targets of a section's conditional jumps, besides another test of the same section.
    private static final int TO_ENOSYS = -1, TO_FILTER = -2;

    /** One conditional test of a section; jt and jf are test indices or TO_ENOSYS / TO_FILTER. */
    private record Test(int code, int k, int jt, int jf) {}

    /**
     * The prefix for these limits; it ends by jumping to the instruction after it, where
     * libseccomp's program must follow. Empty when no limit is given.
     */
    static List<Insn> instructions(List<Limit> limits) {
        // Group by the AUDIT_ARCH value the kernel reports: x86_64 and x32 share one.
        Map<Integer, Integer> nativeX86 = new LinkedHashMap<>(), x32 = new LinkedHashMap<>(), other = new LinkedHashMap<>();
        List<Integer> order = new ArrayList<>();
        for (Limit l : limits) {
            int audit = l.arch() == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : l.arch();
            if (!order.contains(audit)) order.add(audit);
            Map<Integer, Integer> into = l.arch() == SCMP_ARCH_X32 ? x32 : l.arch() == AUDIT_ARCH_X86_64 ? nativeX86 : other;
            into.merge(audit, l.largest(), Math::max);
        }
        if (order.isEmpty()) return List.of();

        List<List<Test>> sections = new ArrayList<>();
        for (int audit : order) {
            List<Test> t = new ArrayList<>();
            if (audit == AUDIT_ARCH_X86_64) {
                Integer n64 = nativeX86.get(audit), n32 = x32.get(audit);
                if (n64 != null && n32 != null) {
                    t.add(new Test(JSET_K, X32_SYSCALL_BIT, 1, 2));
                    t.add(new Test(JGT_K, n32, TO_ENOSYS, TO_FILTER));
                    t.add(new Test(JGT_K, n64, TO_ENOSYS, TO_FILTER));
                } else if (n64 != null) {
                    t.add(new Test(JSET_K, X32_SYSCALL_BIT, TO_FILTER, 1));
                    t.add(new Test(JGT_K, n64, TO_ENOSYS, TO_FILTER));
                } else {
                    t.add(new Test(JSET_K, X32_SYSCALL_BIT, 1, TO_FILTER));
                    t.add(new Test(JGT_K, n32, TO_ENOSYS, TO_FILTER));
                }
            } else {
                if (audit == AUDIT_ARCH_S390 || audit == AUDIT_ARCH_S390X) t.add(new Test(JEQ_K, 0, TO_ENOSYS, 1));
                t.add(new Test(JGT_K, other.get(audit), TO_ENOSYS, TO_FILTER));
            }
            sections.add(t);
        }

        // Layout: load arch; per architecture "jeq ARCH,0,1; ja SECTION"; "ja FILTER"; then
        // each section: load nr; its tests; "ret ENOSYS"; "ja FILTER".
        int dispatch = 1 + 2 * order.size() + 1;
        int[] sectionStart = new int[sections.size()];
        int length = dispatch;
        for (int i = 0; i < sections.size(); i++) {
            sectionStart[i] = length;
            length += 1 + sections.get(i).size() + 2;
        }
        final int filter = length;

        List<Insn> out = new ArrayList<>(length);
        out.add(new Insn(LD_W_ABS, 0, 0, OFF_ARCH));
        for (int i = 0; i < order.size(); i++) {
            out.add(new Insn(JEQ_K, 0, 1, order.get(i)));
            out.add(new Insn(JA, 0, 0, sectionStart[i] - (out.size() + 1)));
        }
        out.add(new Insn(JA, 0, 0, filter - (out.size() + 1)));
        for (List<Test> tests : sections) {
            int first = out.size() + 1, enosys = first + tests.size(), toFilter = enosys + 1;
            out.add(new Insn(LD_W_ABS, 0, 0, OFF_NR));
            for (int i = 0; i < tests.size(); i++) {
                Test t = tests.get(i);
                int at = first + i;
                out.add(new Insn(t.code(), offset(t.jt(), at, first, enosys, toFilter),
                        offset(t.jf(), at, first, enosys, toFilter), t.k()));
            }
            out.add(new Insn(RET_K, 0, 0, RET_ERRNO_ENOSYS));
            out.add(new Insn(JA, 0, 0, filter - (out.size() + 1)));
        }
        if (out.size() != filter) throw new IllegalStateException("ENOSYS prefix: layout " + out.size() + " != " + filter);
        return List.copyOf(out);
    }

    private static int offset(int target, int at, int first, int enosys, int toFilter) {
        int to = target == TO_ENOSYS ? enosys : target == TO_FILTER ? toFilter : first + target;
        int off = to - (at + 1);
        if (off < 0 || off > 255) throw new IllegalStateException("ENOSYS prefix: jump of " + off);
        return off;
    }

    /** The instructions as the kernel reads them: 8-byte sock_filter entries in host byte order. */
    static byte[] encode(List<Insn> program) {
        ByteBuffer b = ByteBuffer.allocate(8 * program.size()).order(ByteOrder.nativeOrder());
        for (Insn i : program) {
            b.putShort((short) i.code()).put((byte) i.jt()).put((byte) i.jf()).putInt(i.k());
        }
        return b.array();
    }
}
