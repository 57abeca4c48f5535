package kurma.runtime.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Command-line arguments in runc's conventions: {@code --flag value}, {@code --flag=value},
 * short aliases ({@code -b}), boolean flags, positional arguments, and {@code --} to end
 * the flags. Each command declares which flags take a value and which are switches.
 */
final class Args {
    final Map<String, String> values = new HashMap<>();
    /** Every value of each valued flag, in order (for repeatable flags: --env, --cap). */
    final Map<String, List<String>> all = new HashMap<>();
    final Set<String> switches = new java.util.HashSet<>();
    final List<String> positional = new ArrayList<>();

    /**
     * @param valued flags that take a value, each with its aliases ("bundle|b")
     * @param booleans switch flags with aliases ("detach|d")
     * @param stopAtFirstPositional true for the global flags: parsing stops at the command name
     */
    static Args parse(List<String> argv, String[] valued, String[] booleans, boolean stopAtFirstPositional) {
        Map<String, String> canonical = new HashMap<>();
        Set<String> takesValue = new java.util.HashSet<>();
        for (String v : valued) {
            String[] names = v.split("\\|");
            for (String n : names) canonical.put(n, names[0]);
            takesValue.add(names[0]);
        }
        for (String b : booleans) {
            String[] names = b.split("\\|");
            for (String n : names) canonical.put(n, names[0]);
        }
        Args a = new Args();
        for (int i = 0; i < argv.size(); i++) {
            String t = argv.get(i);
            if (t.equals("--")) {
                a.positional.addAll(argv.subList(i + 1, argv.size()));
                break;
            }
            if (!t.startsWith("-") || t.equals("-")) {
                if (stopAtFirstPositional) {
                    a.positional.addAll(argv.subList(i, argv.size()));
                    break;
                }
                a.positional.add(t);
                continue;
            }
            String body = t.startsWith("--") ? t.substring(2) : t.substring(1);
            String inline = null;
            int eq = body.indexOf('=');
            if (eq >= 0) {
                inline = body.substring(eq + 1);
                body = body.substring(0, eq);
            }
            String name = canonical.get(body);
            if (name == null) throw new UsageException("unknown flag " + kurma.spec.Quote.cut(t));
            if (takesValue.contains(name)) {
                String v = inline;
                if (v == null) {
                    if (i + 1 >= argv.size()) throw new UsageException("flag " + kurma.spec.Quote.cut(t) + " needs a value");
                    v = argv.get(++i);
                }
                a.values.put(name, v);
                List<String> seen = a.all.get(name);
                if (seen == null) {
                    seen = new ArrayList<>();
                    a.all.put(name, seen);
                }
                seen.add(v);
            } else {
                if (inline != null && !inline.equals("true")) {
                    if (inline.equals("false")) continue;
                    throw new UsageException("flag " + kurma.spec.Quote.cut(t) + " takes no value");
                }
                a.switches.add(name);
            }
        }
        return a;
    }

    String value(String name) {
        return values.get(name);
    }

    List<String> values(String name) {
        List<String> l = all.get(name);
        return l == null ? List.of() : l;
    }

    boolean has(String name) {
        return switches.contains(name);
    }

    int intValue(String name, int dflt) {
        String v = values.get(name);
        if (v == null) return dflt;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " needs a number, got " + kurma.spec.Quote.of(v));
        }
    }

    /** Exactly n positional arguments, or a usage error naming them. */
    void expect(int n, String usage) {
        if (positional.size() != n) throw new UsageException("usage: " + usage);
    }
}
