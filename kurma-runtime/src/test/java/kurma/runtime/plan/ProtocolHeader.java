package kurma.runtime.plan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * stage2/src/protocol.h as the tests read it: the rows of its X-macro tables and the plan
 * header's magic and version. Anything it cannot read is an error, never a smaller table.
 */
record ProtocolHeader(List<OpRow> ops, Map<String, Integer> messages, int magic, int version) {
    record OpRow(String name, int code, String signature) {}

    private static final Pattern OP_ROW = Pattern.compile("X\\(\\s*([A-Z][A-Z0-9_]*)\\s*,\\s*(\\d+)\\s*,\\s*\"([^\"]*)\"\\s*\\)");
    private static final Pattern MESSAGE_ROW = Pattern.compile("X\\(\\s*([A-Z][A-Z0-9_]*)\\s*,\\s*(\\d+)\\s*\\)");
    private static final Pattern MAGIC = Pattern.compile("(?m)^#define\\s+PLAN_MAGIC\\s+0x([0-9a-fA-F]+)U?\\b");
    private static final Pattern VERSION = Pattern.compile("(?m)^#define\\s+PLAN_VERSION\\s+(\\d+)\\b");

    /** The stage2 module, next to this one (surefire runs in the module's basedir). */
    static Path stage2Dir() {
        return Path.of(System.getProperty("basedir", "")).toAbsolutePath().resolve("../stage2").normalize();
    }

    /** Reads the header; a missing or unreadable file is an IOException, which fails the test. */
    static ProtocolHeader read() throws IOException {
        Path h = stage2Dir().resolve("src/protocol.h");
        String text = Files.readString(h);
        List<OpRow> ops = new ArrayList<>();
        for (String row : rows(text, "STAGE2_OPS")) {
            Matcher m = OP_ROW.matcher(row);
            if (!m.matches()) throw new IllegalStateException(h + ": not an op row: " + row);
            ops.add(new OpRow(m.group(1), Integer.parseInt(m.group(2)), m.group(3)));
        }
        Map<String, Integer> messages = new LinkedHashMap<>();
        for (String row : rows(text, "STAGE2_MESSAGES")) {
            Matcher m = MESSAGE_ROW.matcher(row);
            if (!m.matches()) throw new IllegalStateException(h + ": not a message row: " + row);
            if (messages.put(m.group(1), Integer.parseInt(m.group(2))) != null) {
                throw new IllegalStateException(h + ": message " + m.group(1) + " twice");
            }
        }
        if (ops.isEmpty() || messages.isEmpty()) throw new IllegalStateException(h + ": empty table");
        return new ProtocolHeader(List.copyOf(ops), messages,
                (int) Long.parseLong(find(MAGIC, text, h + ": no PLAN_MAGIC"), 16),
                Integer.parseInt(find(VERSION, text, h + ": no PLAN_VERSION")));
    }

    /** The row lines of "#define MACRO(X) \ ..." (continued with backslashes), comments and blanks dropped. */
    private static List<String> rows(String text, String macro) {
        String[] lines = text.split("\n", -1);
        int i = 0;
        while (i < lines.length && !lines[i].startsWith("#define " + macro + "(X)")) i++;
        if (i == lines.length) throw new IllegalStateException("protocol.h: no #define " + macro + "(X)");
        List<String> rows = new ArrayList<>();
        while (lines[i].stripTrailing().endsWith("\\")) {
            if (i + 1 == lines.length) throw new IllegalStateException("protocol.h: " + macro + " runs off the end");
            String row = lines[++i].stripTrailing();
            if (row.endsWith("\\")) row = row.substring(0, row.length() - 1);
            row = row.replaceAll("/\\*.*?\\*/", "").strip();
            if (!row.isEmpty()) rows.add(row);
        }
        return rows;
    }

    static String find(Pattern p, CharSequence text, String missing) {
        Matcher m = p.matcher(text);
        if (!m.find()) throw new IllegalStateException(missing);
        return m.group(1);
    }

    /** The header's row for op, or null. */
    OpRow row(Op op) {
        for (OpRow r : ops) if (r.name().equals(op.name())) return r;
        return null;
    }
}
