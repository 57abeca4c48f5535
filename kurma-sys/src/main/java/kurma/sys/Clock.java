package kurma.sys;

/**
 * RFC 3339 UTC timestamps with nanoseconds, as runc writes them. Written by hand because
 * java.time's formatter costs ~10 ms of class loading on every CLI start.
 */
public final class Clock {
    private Clock() {}

    /** Now, e.g. "2026-11-23T04:11:45.123456789Z". */
    public static String now() {
        java.time.Instant i = java.time.Instant.now();
        return format(i.getEpochSecond(), i.getNano());
    }

    static String format(long epochSecond, int nano) {
        long days = Math.floorDiv(epochSecond, 86400);
        long secs = Math.floorMod(epochSecond, 86400);
        // civil-from-days (proleptic Gregorian), after H. Hinnant's public-domain algorithm
        long z = days + 719468;
        long era = Math.floorDiv(z, 146097);
        long doe = z - era * 146097;
        long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        long d = doy - (153 * mp + 2) / 5 + 1;
        long m = mp < 10 ? mp + 3 : mp - 9;
        long y = yoe + era * 400 + (m <= 2 ? 1 : 0);
        StringBuilder sb = new StringBuilder(30);
        pad(sb, y, 4).append('-');
        pad(sb, m, 2).append('-');
        pad(sb, d, 2).append('T');
        pad(sb, secs / 3600, 2).append(':');
        pad(sb, secs / 60 % 60, 2).append(':');
        pad(sb, secs % 60, 2).append('.');
        pad(sb, nano, 9).append('Z');
        return sb.toString();
    }

    private static StringBuilder pad(StringBuilder sb, long v, int width) {
        String s = Long.toString(v);
        for (int i = s.length(); i < width; i++) sb.append('0');
        return sb.append(s);
    }
}
