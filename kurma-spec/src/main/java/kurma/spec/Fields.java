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

    String str(String key, String dflt) {
        Object v = map.get(key);
        if (v == null) return dflt;
        if (v instanceof String s) return s;
        throw new ConfigException(path(key) + ": expected a string");
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

    /** An unsigned 64-bit quantity (rlimits, memory sizes): values above Long.MAX wrap. */
    Long unsigned(String key) {
        Object v = map.get(key);
        if (v instanceof BigDecimal d && d.scale() <= 0 && d.signum() >= 0
                && d.compareTo(new BigDecimal("18446744073709551615")) <= 0) {
            return d.toBigInteger().longValue();
        }
        return toLong(v, path(key));
    }

    static Long toLong(Object v, String where) {
        if (v == null) return null;
        if (v instanceof Long l) return l;
        if (v instanceof BigDecimal d) {
            try {
                return d.longValueExact();
            } catch (ArithmeticException e) {
                throw new ConfigException(where + ": expected an integer, got " + d);
            }
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
            out.add(s);
        }
        return List.copyOf(out);
    }

    List<Long> integers(String key) {
        Object v = map.get(key);
        if (v == null) return List.of();
        if (!(v instanceof List<?> l)) throw new ConfigException(path(key) + ": expected an array of integers");
        List<Long> out = new ArrayList<>(l.size());
        for (int i = 0; i < l.size(); i++) out.add(toLong(l.get(i), path(key) + "[" + i + "]"));
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

    Map<String, String> stringMap(String key) {
        Fields f = obj(key);
        if (f == null) return Map.of();
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (String k : f.map.keySet()) out.put(k, f.requiredStr(k));
        return out;
    }
}
