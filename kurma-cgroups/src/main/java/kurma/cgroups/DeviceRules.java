package kurma.cgroups;

import java.util.ArrayList;
import java.util.List;

/**
 * The state a list of device rules leaves a v1 devices cgroup in, computed the way runc's
 * devices emulator does (libcontainer/cgroups/devices/emulator.go), so that Kurma writes what
 * runc writes for the same list: the cgroup starts as "deny all", an {@code a} rule resets it
 * to deny all or allow all, and every other rule adds or removes permissions of an exception
 * to that default. {@link #transition()} is then the writes that take a new cgroup there: one
 * allow-all or deny-all, then each remaining exception.
 */
final class DeviceRules {
    private static final int R = 1, W = 2, M = 4;

    /** false: deny by default with allow exceptions (a white list), as runc starts. */
    private boolean defaultAllow;
    private final List<Resources.DeviceRule> exceptions = new ArrayList<>(); // access here is the merged permission set

    /** Applies one rule; {@code field} names it in errors. */
    void apply(Resources.DeviceRule rule, String field) {
        if (rule.type() == 'a') {
            defaultAllow = rule.allow();
            exceptions.clear();
            return;
        }
        // An allow in a white list and a deny in a black list add an exception; the other two remove one.
        if (rule.allow() != defaultAllow) add(rule);
        else remove(rule, field);
    }

    /** The writes for a new cgroup: the disruptive rule first, then the exceptions ordered by major, minor, type. */
    List<Resources.DeviceRule> transition() {
        List<Resources.DeviceRule> sorted = new ArrayList<>();
        for (Resources.DeviceRule e : exceptions) {
            int i = sorted.size();
            while (i > 0 && before(e, sorted.get(i - 1))) i--;
            sorted.add(i, new Resources.DeviceRule(!defaultAllow, e.type(), e.major(), e.minor(), e.access()));
        }
        List<Resources.DeviceRule> out = new ArrayList<>();
        out.add(new Resources.DeviceRule(defaultAllow, 'a', -1, -1, "rwm"));
        out.addAll(sorted);
        return out;
    }

    boolean defaultAllow() {
        return defaultAllow;
    }

    private static boolean before(Resources.DeviceRule a, Resources.DeviceRule b) {
        if (a.major() != b.major()) return a.major() < b.major();
        if (a.minor() != b.minor()) return a.minor() < b.minor();
        return a.type() < b.type();
    }

    private void add(Resources.DeviceRule rule) {
        int i = find(rule.type(), rule.major(), rule.minor());
        if (i < 0) {
            exceptions.add(new Resources.DeviceRule(false, rule.type(), rule.major(), rule.minor(), perms(bits(rule.access()))));
        } else {
            Resources.DeviceRule e = exceptions.get(i);
            exceptions.set(i, new Resources.DeviceRule(false, e.type(), e.major(), e.minor(),
                    perms(bits(e.access()) | bits(rule.access()))));
        }
    }

    private void remove(Resources.DeviceRule rule, String field) {
        int want = bits(rule.access());
        // The kernel only removes an exact match: taking c 1:3 out of an exception for c *:*
        // (or c 1:*, c *:3) is silently ignored there. runc refuses it rather than leave the
        // user believing the device is covered; so does Kurma.
        long[][] partial = {{-1, rule.minor()}, {rule.major(), -1}, {-1, -1}};
        for (long[] p : partial) {
            if (p[0] == rule.major() && p[1] == rule.minor()) continue;
            int i = find(rule.type(), p[0], p[1]);
            if (i >= 0 && (bits(exceptions.get(i).access()) & want) != 0) {
                Resources.DeviceRule w = exceptions.get(i);
                throw new IllegalArgumentException(field + ": the devices cgroup cannot take \"" + rule.cgroupString()
                        + "\" out of the wider rule \"" + w.type() + " " + (w.major() < 0 ? "*" : Long.toString(w.major()))
                        + ":" + (w.minor() < 0 ? "*" : Long.toString(w.minor())) + " " + w.access() + "\" before it");
            }
        }
        int i = find(rule.type(), rule.major(), rule.minor());
        if (i < 0) return;
        Resources.DeviceRule e = exceptions.get(i);
        int left = bits(e.access()) & ~want;
        if (left == 0) exceptions.remove(i);
        else exceptions.set(i, new Resources.DeviceRule(false, e.type(), e.major(), e.minor(), perms(left)));
    }

    private int find(char type, long major, long minor) {
        for (int i = 0; i < exceptions.size(); i++) {
            Resources.DeviceRule e = exceptions.get(i);
            if (e.type() == type && e.major() == major && e.minor() == minor) return i;
        }
        return -1;
    }

    private static int bits(String access) {
        int b = 0;
        for (int i = 0; i < access.length(); i++) {
            char c = access.charAt(i);
            b |= c == 'r' ? R : c == 'w' ? W : c == 'm' ? M : 0;
        }
        return b;
    }

    private static String perms(int b) {
        return ((b & R) != 0 ? "r" : "") + ((b & W) != 0 ? "w" : "") + ((b & M) != 0 ? "m" : "");
    }
}
