package kurma.seccomp;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The OCI seccomp object (config.json linux.seccomp), checked: every name and value is
 * known before libseccomp sees it, and errors name the field.
 */
public record Profile(long defaultAction, List<String> architectures, long flags, List<Rule> rules) {

    /** One syscalls[] entry: the names share the action and the argument conditions. */
    public record Rule(List<String> names, long action, List<Condition> conditions) {}

    /** One argument condition (libseccomp's scmp_arg_cmp). */
    public record Condition(int index, int op, long value, long valueTwo) {}

    private static final String[] OPERATORS = {null, "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
        "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};

    /** Parses linux.seccomp; an empty map means no filter (null). */
    @SuppressWarnings("unchecked")
    public static Profile parse(Map<String, Object> json) {
        if (json == null || json.isEmpty()) return null;
        String where = "linux.seccomp";
        if (json.get("listenerPath") != null) {
            throw new IllegalArgumentException(where + ".listenerPath: seccomp notify is not implemented");
        }
        Long defaultErrno = integer(json.get("defaultErrnoRet"), where + ".defaultErrnoRet");
        long defaultAction = action(string(json.get("defaultAction"), where + ".defaultAction", true), defaultErrno,
                where + ".defaultAction");
        List<String> archs = strings(json.get("architectures"), where + ".architectures");
        long flags = 0;
        for (String f : strings(json.get("flags"), where + ".flags")) flags |= flag(f, where + ".flags");
        List<Rule> rules = new ArrayList<>();
        Object syscalls = json.get("syscalls");
        if (syscalls != null) {
            if (!(syscalls instanceof List<?> list)) throw new IllegalArgumentException(where + ".syscalls: expected an array");
            for (int i = 0; i < list.size(); i++) {
                String at = where + ".syscalls[" + i + "]";
                if (!(list.get(i) instanceof Map<?, ?> m)) throw new IllegalArgumentException(at + ": expected an object");
                Map<String, Object> s = (Map<String, Object>) m;
                List<String> names = strings(s.get("names"), at + ".names");
                if (names.isEmpty()) throw new IllegalArgumentException(at + ".names: must list at least one system call");
                long action = action(string(s.get("action"), at + ".action", true),
                        integer(s.get("errnoRet"), at + ".errnoRet"), at + ".action");
                List<Condition> conds = new ArrayList<>();
                Object args = s.get("args");
                if (args != null) {
                    if (!(args instanceof List<?> al)) throw new IllegalArgumentException(at + ".args: expected an array");
                    for (int j = 0; j < al.size(); j++) {
                        String aw = at + ".args[" + j + "]";
                        if (!(al.get(j) instanceof Map<?, ?> am)) throw new IllegalArgumentException(aw + ": expected an object");
                        Map<String, Object> a = (Map<String, Object>) am;
                        Long index = integer(a.get("index"), aw + ".index");
                        if (index == null || index < 0 || index > 5) {
                            throw new IllegalArgumentException(aw + ".index: must be 0 to 5");
                        }
                        String op = string(a.get("op"), aw + ".op", true);
                        int opCode = -1;
                        for (int k = 1; k < OPERATORS.length; k++) if (OPERATORS[k].equals(op)) opCode = k;
                        if (opCode < 0) throw new IllegalArgumentException(aw + ".op: unknown operator \"" + op + "\"");
                        Long value = unsigned(a.get("value"), aw + ".value");
                        Long two = unsigned(a.get("valueTwo"), aw + ".valueTwo");
                        conds.add(new Condition(index.intValue(), opCode, value == null ? 0 : value, two == null ? 0 : two));
                    }
                }
                rules.add(new Rule(names, action, List.copyOf(conds)));
            }
        }
        return new Profile(defaultAction, archs, flags, List.copyOf(rules));
    }

    /** An OCI action name as libseccomp's action value. */
    static long action(String name, Long errnoRet, String where) {
        return switch (name) {
            case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD" -> 0x00000000L;
            case "SCMP_ACT_KILL_PROCESS" -> 0x80000000L;
            case "SCMP_ACT_TRAP" -> 0x00030000L;
            case "SCMP_ACT_ERRNO" -> 0x00050000L | ((errnoRet == null ? 1 : errnoRet) & 0xffff); // EPERM by default
            case "SCMP_ACT_TRACE" -> 0x7ff00000L | ((errnoRet == null ? 1 : errnoRet) & 0xffff);
            case "SCMP_ACT_LOG" -> 0x7ffc0000L;
            case "SCMP_ACT_ALLOW" -> 0x7fff0000L;
            case "SCMP_ACT_NOTIFY" -> throw new IllegalArgumentException(where + ": SCMP_ACT_NOTIFY is not implemented");
            default -> throw new IllegalArgumentException(where + ": unknown action \"" + name + "\"");
        };
    }

    /** seccomp(2) filter flags by their OCI names. */
    static long flag(String name, String where) {
        return switch (name) {
            case "SECCOMP_FILTER_FLAG_TSYNC" -> 1;
            case "SECCOMP_FILTER_FLAG_LOG" -> 2;
            case "SECCOMP_FILTER_FLAG_SPEC_ALLOW" -> 4;
            case "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" -> 32;
            default -> throw new IllegalArgumentException(where + ": unknown or unsupported flag \"" + name + "\"");
        };
    }

    private static String string(Object v, String where, boolean required) {
        if (v == null && !required) return null;
        if (v instanceof String s) return s;
        throw new IllegalArgumentException(where + (v == null ? ": is required" : ": expected a string"));
    }

    private static List<String> strings(Object v, String where) {
        List<String> out = new ArrayList<>();
        if (v == null) return out;
        if (!(v instanceof List<?> l)) throw new IllegalArgumentException(where + ": expected an array of strings");
        for (Object o : l) {
            if (!(o instanceof String s)) throw new IllegalArgumentException(where + ": expected an array of strings");
            out.add(s);
        }
        return out;
    }

    private static Long integer(Object v, String where) {
        if (v == null) return null;
        if (v instanceof Long l) return l;
        throw new IllegalArgumentException(where + ": expected an integer");
    }

    /** A u64 argument value (may exceed Long.MAX_VALUE: masks such as 0xffffffff00000000). */
    private static Long unsigned(Object v, String where) {
        if (v == null) return null;
        if (v instanceof Long l) return l;
        if (v instanceof BigDecimal d && d.scale() <= 0 && d.signum() >= 0
                && d.compareTo(new BigDecimal("18446744073709551615")) <= 0) {
            return d.toBigInteger().longValue();
        }
        throw new IllegalArgumentException(where + ": expected an unsigned 64-bit integer");
    }
}
