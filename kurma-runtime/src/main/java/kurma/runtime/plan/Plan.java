package kurma.runtime.plan;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * An ordered launch plan: what stage2 will do, step by step. Each step keeps a readable
 * rendering of itself, so that when stage2 reports "step 12 failed with ENOENT" the user reads
 * {@code mount proc on /proc (type proc): No such file or directory}.
 */
public final class Plan {
    /** One argument: a string, raw bytes, or an unsigned 64-bit integer. */
    public sealed interface Arg permits Str, Bytes, U64 {}

    public record Str(String value) implements Arg {}

    public record U64(long value) implements Arg {}

    /** Bytes that may contain NUL (a BPF program). */
    public record Bytes(byte[] value) implements Arg {}

    /** One operation with its arguments and a human description for errors. */
    public record Step(Op op, List<Arg> args, String description) {}

    static final int MAGIC = 0x324d524b; // "KRM2"
    static final int VERSION = 3;

    private final List<Step> steps = new ArrayList<>();

    /**
     * Appends a step. The arguments must match the op's signature (stage2/src/protocol.h):
     * String for 's', byte[] for 'b', Long or Integer for 'u' and 'w' ('w': 0 to 2^32-1). A
     * mismatch is a planner bug, refused here with an IllegalArgumentException naming the op
     * rather than left for stage2 to reject as EINVAL with the whole plan.
     */
    public Plan add(String description, Op op, Object... args) {
        int n = args.length;
        if (n < op.fixed || (op.repeat == 0 && n != op.fixed)) {
            throw refused(op, description, n + " argument" + (n == 1 ? "" : "s"));
        }
        // Runs for every step of every container start: a plain loop over the signature's
        // letters, no regex, stream or lambda (each costs class loading or a bootstrap).
        List<Arg> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Object a = args[i];
            char kind = i < op.fixed ? op.signature.charAt(i) : op.repeat;
            // instanceof rather than a pattern switch: a type switch costs an indy bootstrap at start-up
            if (a instanceof String s && kind == 's') {
                if (s.indexOf('\0') >= 0) throw new IllegalArgumentException(description + ": NUL byte in argument");
                list.add(new Str(s));
            } else if (a instanceof byte[] b && kind == 'b') {
                list.add(new Bytes(b.clone()));
            } else if ((a instanceof Long || a instanceof Integer) && (kind == 'u' || kind == 'w')) {
                long v = ((Number) a).longValue();
                if (kind == 'w' && (v < 0 || v > 0xffffffffL)) {
                    throw refused(op, description, "argument " + (i + 1) + " (" + v + ") does not fit in 32 bits");
                }
                list.add(new U64(v));
            } else {
                throw refused(op, description, "argument " + (i + 1) + " is "
                        + (a == null ? "null" : "a " + a.getClass().getSimpleName()) + ", not '" + kind + "'");
            }
        }
        steps.add(new Step(op, List.copyOf(list), description));
        return this;
    }

    private static IllegalArgumentException refused(Op op, String description, String what) {
        return new IllegalArgumentException("plan step " + op + " (" + description + "): " + what
                + "; its signature is \"" + op.signature + "\"");
    }

    public List<Step> steps() {
        return List.copyOf(steps);
    }

    /** The description of step {@code index}, for stage2 error reports. */
    public String describe(int index) {
        if (index < 0 || index >= steps.size()) return "reading the launch plan";
        return steps.get(index).description();
    }

    /**
     * The plan on the wire (stage2/PLAN.md); fds: the fd numbers of this process that stage2
     * takes as the container's 0, 1, 2, 3... (index i becomes fd i).
     */
    public byte[] encode(int[] fds) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        ByteBuffer small = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        for (Step s : steps) {
            small.clear();
            small.putShort((short) s.op().code).putShort((short) s.args().size());
            body.write(small.array(), 0, 4);
            for (Arg a : s.args()) {
                byte[] bytes;
                if (a instanceof Str str) bytes = str.value().getBytes(StandardCharsets.UTF_8);
                else if (a instanceof Bytes b) bytes = b.value();
                else bytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(((U64) a).value()).array();
                small.clear();
                small.putInt(bytes.length);
                body.write(small.array(), 0, 4);
                body.write(bytes, 0, bytes.length);
            }
        }
        byte[] b = body.toByteArray();
        ByteBuffer out = ByteBuffer.allocate(20 + 4 * fds.length + b.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(MAGIC).putInt(VERSION).putInt(fds.length);
        for (int fd : fds) out.putInt(fd);
        out.putInt(steps.size()).putInt(b.length).put(b);
        return out.array();
    }
}
