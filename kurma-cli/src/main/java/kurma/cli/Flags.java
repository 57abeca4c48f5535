package kurma.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Command-line flags in docker's and podman's conventions: {@code --name value},
 * {@code --name=value}, single-letter aliases that may be grouped ({@code -it}, {@code -dit}),
 * repeatable values ({@code -e A=1 -e B=2}), {@code --switch=false}, and, for {@code run},
 * parsing stops at the first positional argument (the image; what follows is its command).
 */
final class Flags {
    private final Map<String, List<String>> values = new HashMap<>();
    private final Set<String> switches = new HashSet<>();
    private final Set<String> negated = new HashSet<>();
    final List<String> positional = new ArrayList<>();

    /**
     * @param valued   flags that take a value, with aliases: "env|e"
     * @param booleans switches, with aliases: "detach|d"
     */
    static Flags parse(List<String> argv, String[] valued, String[] booleans, boolean stopAtFirstPositional) {
        Map<String, String> canonical = new HashMap<>();
        Set<String> takesValue = new HashSet<>();
        for (String v : valued) {
            String[] names = v.split("\\|");
            for (String n : names) canonical.put(n, names[0]);
            takesValue.add(names[0]);
        }
        for (String b : booleans) {
            String[] names = b.split("\\|");
            for (String n : names) canonical.put(n, names[0]);
        }
        Flags f = new Flags();
        for (int i = 0; i < argv.size(); i++) {
            String t = argv.get(i);
            if (t.equals("--")) {
                f.positional.addAll(argv.subList(i + 1, argv.size()));
                break;
            }
            if (!t.startsWith("-") || t.equals("-")) {
                if (stopAtFirstPositional) {
                    f.positional.addAll(argv.subList(i, argv.size()));
                    break;
                }
                f.positional.add(t);
                continue;
            }
            boolean longForm = t.startsWith("--");
            String body = t.substring(longForm ? 2 : 1);
            String inline = null;
            int eq = body.indexOf('=');
            if (eq >= 0) {
                inline = body.substring(eq + 1);
                body = body.substring(0, eq);
            }
            if (!longForm && body.length() > 1 && inline == null) {
                // A group of one-letter flags: -it, -dit; only the last may take a value.
                for (int k = 0; k < body.length(); k++) {
                    String name = canonical.get(body.substring(k, k + 1));
                    if (name == null) throw new UsageException("unknown flag -" + body.charAt(k) + " in " + t);
                    if (takesValue.contains(name)) {
                        if (k != body.length() - 1) throw new UsageException("flag -" + body.charAt(k) + " in " + t + " needs a value");
                        if (i + 1 >= argv.size()) throw new UsageException("flag -" + body.charAt(k) + " needs a value");
                        f.add(name, argv.get(++i));
                    } else {
                        f.switches.add(name);
                    }
                }
                continue;
            }
            String name = canonical.get(body);
            if (name == null) throw new UsageException("unknown flag " + t);
            if (takesValue.contains(name)) {
                String v = inline;
                if (v == null) {
                    if (i + 1 >= argv.size()) throw new UsageException("flag " + t + " needs a value");
                    v = argv.get(++i);
                }
                f.add(name, v);
            } else if (inline == null || inline.equals("true")) {
                f.switches.add(name);
            } else if (inline.equals("false")) {
                f.switches.remove(name);
                f.negated.add(name);
            } else {
                throw new UsageException("flag " + t + " takes true or false");
            }
        }
        return f;
    }

    private void add(String name, String v) {
        values.computeIfAbsent(name, k -> new ArrayList<>()).add(v);
    }

    /** The last value given for a flag, or null. */
    String value(String name) {
        List<String> v = values.get(name);
        return v == null ? null : v.getLast();
    }

    /** Every value given for a repeatable flag, in order. */
    List<String> values(String name) {
        List<String> v = values.get(name);
        return v == null ? List.of() : v;
    }

    boolean has(String name) {
        return switches.contains(name);
    }

    /** A switch with a default: --tls-verify is on unless --tls-verify=false. */
    boolean bool(String name, boolean dflt) {
        if (switches.contains(name)) return true;
        return !negated.contains(name) && dflt;
    }

    void expect(int min, int max, String usage) {
        if (positional.size() < min || positional.size() > max) throw new UsageException("usage: " + usage);
    }
}
