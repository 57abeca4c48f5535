package kurma.runtime.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import kurma.runtime.KurmaException;
import kurma.spec.Json;
import kurma.spec.JsonException;
import kurma.spec.Quote;

/**
 * {@code update}'s input, as runc takes it: a linux.resources object from {@code -r FILE} (or
 * {@code -r -} for stdin, as containerd-shim sends it), then each flag on top of it.
 */
final class Update {
    private Update() {}

    /** The valued flags of update, with the resources field each one sets. */
    static final String[] FLAGS = {"resources|r", "blkio-weight", "cpu-period", "cpu-quota", "cpu-share", "cpu-rt-period",
        "cpu-rt-runtime", "cpuset-cpus", "cpuset-mems", "kernel-memory", "kernel-memory-tcp", "memory",
        "memory-reservation", "memory-swap", "pids-limit", "l3-cache-schema", "mem-bw-schema"};

    @SuppressWarnings("unchecked")
    static Map<String, Object> resources(Args a, InputStream stdin) {
        Map<String, Object> r = new LinkedHashMap<>();
        String file = a.value("resources");
        if (file != null) {
            try {
                byte[] json = file.equals("-") ? stdin.readAllBytes() : Files.readAllBytes(Path.of(file));
                // bad bytes: "update: FILE: the text is not valid UTF-8 (at byte offset N)"
                if (!(Json.parse(Json.utf8(json, "the text")) instanceof Map<?, ?> m)) {
                    throw new KurmaException(KurmaException.Code.INVALID_ARGUMENT, "update: " + Quote.cut(file) + ": expected a JSON object of resources");
                }
                r.putAll((Map<String, Object>) m);
            } catch (IOException e) {
                throw new KurmaException(KurmaException.Code.INVALID_ARGUMENT, "update: cannot read " + Quote.cut(file) + ": " + e.getMessage(), e);
            } catch (JsonException e) {
                throw new KurmaException(KurmaException.Code.INVALID_ARGUMENT, "update: " + Quote.cut(file) + ": " + e.getMessage(), e);
            }
        }
        set(r, "blockIO", "weight", number(a, "blkio-weight", false));
        set(r, "cpu", "period", number(a, "cpu-period", false));
        set(r, "cpu", "quota", number(a, "cpu-quota", false));
        set(r, "cpu", "shares", number(a, "cpu-share", false));
        set(r, "cpu", "realtimePeriod", number(a, "cpu-rt-period", false));
        set(r, "cpu", "realtimeRuntime", number(a, "cpu-rt-runtime", false));
        set(r, "cpu", "cpus", a.value("cpuset-cpus"));
        set(r, "cpu", "mems", a.value("cpuset-mems"));
        set(r, "memory", "limit", number(a, "memory", true));
        set(r, "memory", "reservation", number(a, "memory-reservation", true));
        set(r, "memory", "swap", number(a, "memory-swap", true));
        set(r, "memory", "kernel", number(a, "kernel-memory", true));
        set(r, "memory", "kernelTCP", number(a, "kernel-memory-tcp", true));
        set(r, "pids", "limit", number(a, "pids-limit", false));
        if (a.value("l3-cache-schema") != null || a.value("mem-bw-schema") != null) {
            throw new KurmaException(KurmaException.Code.UNSUPPORTED, "update: Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported");
        }
        return r;
    }

    @SuppressWarnings("unchecked")
    private static void set(Map<String, Object> r, String group, String field, Object value) {
        if (value == null) return;
        Object g = r.get(group);
        Map<String, Object> m = g instanceof Map<?, ?> ? new LinkedHashMap<>((Map<String, Object>) g) : new LinkedHashMap<>();
        m.put(field, value);
        r.put(group, m);
    }

    /**
     * A flag's number; memory sizes may carry a unit as runc (docker's units.RAMInBytes)
     * accepts them: 512, 100k, 64m, 1g, 1GB, 2t (powers of 1024); -1 is unlimited.
     */
    static Long number(Args a, String flag, boolean size) {
        String v = a.value(flag);
        if (v == null) return null;
        String s = v.trim().toLowerCase(java.util.Locale.ROOT);
        long unit = 1;
        if (size) {
            if (s.endsWith("ib")) s = s.substring(0, s.length() - 2);
            else if (s.endsWith("b")) s = s.substring(0, s.length() - 1);
            if (!s.isEmpty()) {
                int k = "kmgtp".indexOf(s.charAt(s.length() - 1));
                if (k >= 0) {
                    unit = 1L << (10 * (k + 1));
                    s = s.substring(0, s.length() - 1);
                }
            }
        }
        try {
            long n = Long.parseLong(s);
            if (n == -1) return -1L;
            if (n < 0) throw new UsageException("--" + flag + " must not be negative (or -1 for unlimited), got " + Quote.of(v));
            return Math.multiplyExact(n, unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new UsageException("--" + flag + ": not a " + (size ? "size" : "number") + ": " + Quote.of(v));
        }
    }
}
