package kurma.runtime.plan;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Plan.add refuses an argument list its op's signature does not allow, before stage2 sees it. */
class PlanTest {
    /** Expects add to refuse, naming the op, and to leave the plan as it was. */
    private static void refused(Op op, Object... args) {
        Plan plan = new Plan().add("first", Op.SETSID);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plan.add("the step", op, args),
                () -> op + " took " + List.of(args));
        assertTrue(e.getMessage().contains(op.name()) && e.getMessage().contains("the step"), e.getMessage());
        assertEquals(1, plan.steps().size(), "nothing added");
    }

    private static List<Plan.Arg> added(Op op, Object... args) {
        return new Plan().add("step", op, args).steps().getFirst().args();
    }

    @Test
    void refusesAWrongArgumentCount() {
        refused(Op.SETUID);
        refused(Op.SETUID, 0L, 0L);
        refused(Op.SETSID, 0L);
        refused(Op.MOUNT, "none", "/mnt", "tmpfs", 0L);
        refused(Op.MOUNT, "none", "/mnt", "tmpfs", 0L, "", "");
        refused(Op.RUN_HOOK, "/bin/true", 0L); // the fixed part of "suus*" is incomplete
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Plan().add("set uid", Op.SETUID));
        assertEquals("plan step SETUID (set uid): 0 arguments; its signature is \"w\"", e.getMessage());
    }

    @Test
    void refusesAWrongKind() {
        refused(Op.SETUID, "0");
        refused(Op.WRITE_FILE, "/proc/self/oom_score_adj", 0L);
        refused(Op.SECCOMP, "program", 0L); // bytes, not a string
        refused(Op.SECCOMP, new byte[8], "0");
        refused(Op.OOM_SCORE_ADJ, new byte[] {'1'}); // a string, not bytes
        refused(Op.MOUNT, "none", "/mnt", "tmpfs", "0", "");
        refused(Op.OPEN_ROOT, (Object) null);
        refused(Op.UMASK, (short) 022); // Long or Integer only
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Plan().add("write", Op.WRITE_FILE, "/f", 1L));
        assertEquals("plan step WRITE_FILE (write): argument 2 is a Long, not 's'; its signature is \"ss\"", e.getMessage());
    }

    @Test
    void refusesMoreThan32BitsWhereTheKernelTakesAnInt() {
        assertEquals(List.of(new Plan.U64(0xffffffffL)), added(Op.SETUID, 0xffffffffL));
        assertEquals(List.of(new Plan.U64(0)), added(Op.SETUID, 0));
        refused(Op.SETUID, 0x1_0000_0000L);
        refused(Op.SETUID, -1L);
        refused(Op.SETUID, -1); // an Integer widens with its sign: stage2 would read 2^64-1
        refused(Op.MKNOD_IN_ROOT, "dev/null", 020666L, 0x103L, 0L, 1L << 32);
        // 'u' takes all 64 bits (RLIM_INFINITY is u64 max)
        assertEquals(new Plan.U64(-1L), added(Op.SETRLIMIT, 7L, -1L, -1L).get(2));
        refused(Op.SETRLIMIT, -1L, -1L, -1L); // but the resource is an int
    }

    @Test
    void repeatsTheStarredLetter() {
        assertEquals(List.of(), added(Op.SETGROUPS));
        assertEquals(3, added(Op.SETGROUPS, 1L, 2, 3L).size());
        refused(Op.SETGROUPS, 1L, "2");
        refused(Op.SETGROUPS, 1L, 1L << 32);
        assertEquals(4, added(Op.EXEC, 2L, "sh", "-c", "PATH=/bin").size());
        refused(Op.EXEC, "sh");
        refused(Op.EXEC, 1L, "sh", 0L);
        assertEquals(5, added(Op.RUN_HOOK, "/bin/hook", 10L, 1L, "hook", "A=b").size());
        refused(Op.RUN_HOOK, "/bin/hook", 10L, "1", "hook");
    }

    /**
     * Every op, driven by protocol.h's own rows rather than Op's copy: an argument list of the
     * header's signature is taken (and kept as given), one argument short of its fixed part or
     * one over a signature that does not repeat, and a wrong kind at any position, are refused.
     */
    @Test
    void everyOpTakesWhatTheHeaderSaysAndNothingElse() throws Exception {
        ProtocolHeader h = ProtocolHeader.read();
        for (Op op : Op.values()) {
            ProtocolHeader.OpRow row = h.row(op);
            assertTrue(row != null, op + " is not in protocol.h");
            String sig = row.signature();
            boolean repeats = sig.endsWith("*");
            String fixed = repeats ? sig.substring(0, sig.length() - 2) : sig;
            List<Object> args = new ArrayList<>();
            for (char c : fixed.toCharArray()) args.add(good(c));
            if (repeats) for (int i = 0; i < 3; i++) args.add(good(sig.charAt(sig.length() - 2)));
            List<Plan.Arg> taken = assertDoesNotThrow(() -> added(op, args.toArray()), op + " " + sig);
            assertEquals(args.size(), taken.size());
            for (int i = 0; i < args.size(); i++) {
                Object a = args.get(i);
                Plan.Arg want = a instanceof String s ? new Plan.Str(s) : a instanceof Long l ? new Plan.U64(l) : null;
                if (want != null) assertEquals(want, taken.get(i), op + " argument " + (i + 1));
                else assertTrue(taken.get(i) instanceof Plan.Bytes, op + " argument " + (i + 1));
            }
            if (!fixed.isEmpty()) refused(op, args.subList(0, fixed.length() - 1).toArray());
            if (!repeats) {
                List<Object> over = new ArrayList<>(args);
                over.add(good('u'));
                refused(op, over.toArray());
            }
            for (int i = 0; i < args.size(); i++) {
                char c = i < fixed.length() ? fixed.charAt(i) : sig.charAt(sig.length() - 2);
                List<Object> wrong = new ArrayList<>(args);
                wrong.set(i, c == 's' ? 1L : "1");
                refused(op, wrong.toArray());
                if (c == 'w') {
                    wrong.set(i, 1L << 32);
                    refused(op, wrong.toArray());
                }
            }
        }
    }

    /** An argument of kind c, at the edge of its range. */
    private static Object good(char c) {
        return switch (c) {
            case 's' -> "x";
            case 'b' -> new byte[] {0, 1};
            case 'u' -> -1L;
            case 'w' -> 0xffffffffL;
            default -> throw new IllegalArgumentException("signature letter " + c);
        };
    }
}
