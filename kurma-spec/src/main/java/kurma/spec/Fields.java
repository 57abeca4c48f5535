package kurma.spec;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Typed access to one JSON object of config.json, with errors that name the field's full
 * path ({@code process.user.uid: expected an integer}). Absent and {@code null} are the same.
 */
final class Fields {
    private final Map<String, Object> map;
    private final String path;

    private Fields(Map<String, Object> map, String path) {
        this.map = map;
        this.path = path;
    }

    static Fields of(Object value, String path) {
        if (!(value instanceof Map<?, ?> m)) throw new ConfigException(path + ": expected an object");
        @SuppressWarnings("unchecked")
        Map<String, Object> typed = (Map<String, Object>) m;
        return new Fields(typed, path);
    }

    String path(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    boolean has(String key) {
        return map.get(key) != null;
    }

    Object raw(String key) {
        return map.get(key);
    }

    Fields obj(String key) {
        Object v = map.get(key);
        return v == null ? null : of(v, path(key));
    }

    /** A string; absent: dflt. A NUL is refused: the value goes to the kernel as a C string. */
    String str(String key, String dflt) {
        Object v = map.get(key);
        if (v == null) return dflt;
        if (v instanceof String s) return noNul(s, path(key));
        throw new ConfigException(path(key) + ": expected a string");
    }

    private static String noNul(String s, String where) {
        if (s.indexOf('\0') >= 0) throw new ConfigException(where + ": must not contain a NUL character");
        return s;
    }

    String requiredStr(String key) {
        String s = str(key, null);
        if (s == null) throw new ConfigException(path(key) + ": is required");
        return s;
    }

    boolean bool(String key, boolean dflt) {
        Object v = map.get(key);
        if (v == null) return dflt;
        if (v instanceof Boolean b) return b;
        throw new ConfigException(path(key) + ": expected true or false");
    }

    Long integer(String key) {
        return toLong(map.get(key), path(key));
    }

    long integer(String key, long dflt) {
        Long v = integer(key);
        return v == null ? dflt : v;
    }

    /** An integer in [min, max], or null when absent. */
    Long integer(String key, long min, long max) {
        return integer(map.get(key), min, max, path(key));
    }

    long integer(String key, long min, long max, long dflt) {
        Long v = integer(key, min, max);
        return v == null ? dflt : v;
    }

    static Long integer(Object raw, long min, long max, String where) {
        if (raw instanceof BigDecimal d && isIntegral(d) && !fitsLong(d)) {
            // beyond 64 bits: the error is the field's range all the same
            throw outOfRange(where, d.signum() < 0, min, max, Quote.cut(d.toString()));
        }
        Long v = toLong(raw, where);
        if (v != null && (v < min || v > max)) throw outOfRange(where, v < min, min, max, Long.toString(v));
        return v;
    }

    private static ConfigException outOfRange(String where, boolean below, long min, long max, String got) {
        return new ConfigException(where + ": must be " + (below ? "at least " + min : "at most " + max) + ", got " + got);
    }

    /**
     * The BigDecimal bounds, made only when a number too large for a long (the JSON reader's
     * BigDecimal) comes along: as static fields of this class they cost every config read ~45 ms
     * of class initialisation in the CLI's interpreted JVM (BigInteger, and the fork-join pool
     * BigInteger's parallel arithmetic brings in).
     */
    private static final class Big {
        static final BigDecimal U64_MAX = new BigDecimal("18446744073709551615");
        static final BigDecimal LONG_MIN = BigDecimal.valueOf(Long.MIN_VALUE), LONG_MAX = BigDecimal.valueOf(Long.MAX_VALUE);
    }

    /**
     * An unsigned 64-bit quantity (rlimits), or null when absent: 0 to 2^64-1, returned as the
     * long with the same 64 bits (compare with {@link Long#compareUnsigned}).
     */
    Long unsigned(String key) {
        Object v = map.get(key);
        if (v instanceof BigDecimal d && isIntegral(d) && d.signum() > 0 && !fitsLong(d)) {
            if (d.compareTo(Big.U64_MAX) > 0) {
                throw new ConfigException(path(key) + ": must be at most " + Big.U64_MAX + ", got " + Quote.cut(d.toString()));
            }
            return d.toBigInteger().longValue();
        }
        return integer(v, 0, Long.MAX_VALUE, path(key));
    }

    /** 1e3 and 2.0 are integers, 1.5 is not; decided without expanding 1e999999999. */
    private static boolean isIntegral(BigDecimal d) {
        return d.scale() <= 0 || d.stripTrailingZeros().scale() <= 0;
    }

    /** Whether an integral d is a long, decided without expanding it. */
    private static boolean fitsLong(BigDecimal d) {
        return d.compareTo(Big.LONG_MIN) >= 0 && d.compareTo(Big.LONG_MAX) <= 0;
    }

    static Long toLong(Object v, String where) {
        if (v == null) return null;
        if (v instanceof Long l) return l;
        if (v instanceof BigDecimal d) {
            if (!isIntegral(d)) throw new ConfigException(where + ": expected an integer, got " + Quote.cut(d.toString()));
            if (!fitsLong(d)) throw new ConfigException(where + ": " + Quote.cut(d.toString()) + " does not fit in 64 bits");
            return d.longValueExact();
        }
        throw new ConfigException(where + ": expected an integer");
    }

    List<String> strings(String key) {
        Object v = map.get(key);
        if (v == null) return List.of();
        if (!(v instanceof List<?> l)) throw new ConfigException(path(key) + ": expected an array of strings");
        List<String> out = new ArrayList<>(l.size());
        for (int i = 0; i < l.size(); i++) {
            if (!(l.get(i) instanceof String s)) {
                throw new ConfigException(path(key) + "[" + i + "]: expected a string");
            }
            out.add(noNul(s, path(key) + "[" + i + "]"));
        }
        return List.copyOf(out);
    }

    /** An array of integers, each in [min, max]; absent: empty. */
    List<Long> integers(String key, long min, long max) {
        Object v = map.get(key);
        if (v == null) return List.of();
        if (!(v instanceof List<?> l)) throw new ConfigException(path(key) + ": expected an array of integers");
        List<Long> out = new ArrayList<>(l.size());
        for (int i = 0; i < l.size(); i++) {
            String where = path(key) + "[" + i + "]";
            Long n = integer(l.get(i), min, max, where);
            if (n == null) throw new ConfigException(where + ": expected an integer");
            out.add(n);
        }
        return List.copyOf(out);
    }

    List<Fields> objects(String key) {
        Object v = map.get(key);
        if (v == null) return List.of();
        if (!(v instanceof List<?> l)) throw new ConfigException(path(key) + ": expected an array of objects");
        List<Fields> out = new ArrayList<>(l.size());
        for (int i = 0; i < l.size(); i++) out.add(of(l.get(i), path(key) + "[" + i + "]"));
        return out;
    }

    /**
     * An object of strings (sysctl, annotations), in config order; a key in an error's path is
     * cut when long. With allowNul false, NULs are refused as in {@link #str}.
     */
    Map<String, String> stringMap(String key, boolean allowNul) {
        Fields f = obj(key);
        if (f == null) return Map.of();
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, Object> e : f.map.entrySet()) {
            String where = f.path(Quote.cut(e.getKey()));
            if (!(e.getValue() instanceof String s)) {
                throw new ConfigException(where + (e.getValue() == null ? ": is required" : ": expected a string"));
            }
            if (!allowNul) {
                noNul(e.getKey(), where);
                noNul(s, where);
            }
            out.put(e.getKey(), s);
        }
        return out;
    }
}
