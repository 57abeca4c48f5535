package kurma.runtime.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * The Java side of the Java/C contract against its one definition, stage2/src/protocol.h (which
 * stage2 and its test driver compile from), and stage2/PLAN.md against both: any drift fails
 * here. The files are read from the source tree; not finding them is a failure, not a skip.
 */
class ProtocolTest {
    private static final Pattern TABLE_ROW = Pattern.compile("\\|\\s*(\\d+)\\s*\\|\\s*([A-Z][A-Z0-9_]*)\\s*\\|(.*)");

    @Test
    void theHeaderIsWellFormed() throws Exception {
        ProtocolHeader h = ProtocolHeader.read();
        int last = 0;
        for (ProtocolHeader.OpRow r : h.ops()) {
            assertTrue(r.code() > last, "protocol.h: " + r.name() + " (" + r.code() + ") out of code order");
            last = r.code();
            assertTrue(r.code() <= 0xffff, "protocol.h: " + r.name() + ": the code is a u16 on the wire");
            // stage2's parser reads any letter but s and b as a u64: a typo would pass the compiler
            assertTrue(r.signature().matches("[sbuw]*([sbuw]\\*)?"), "protocol.h: " + r.name() + ": bad signature " + r.signature());
        }
    }

    @Test
    void opCarriesTheHeadersCodesAndSignatures() throws Exception {
        List<String> header = new ArrayList<>(), java = new ArrayList<>();
        for (ProtocolHeader.OpRow r : ProtocolHeader.read().ops()) header.add(r.name() + " " + r.code() + " \"" + r.signature() + "\"");
        for (Op op : Op.values()) java.add(op.name() + " " + op.code + " \"" + op.signature + "\"");
        assertEquals(String.join("\n", header), String.join("\n", java), "kurma.runtime.plan.Op differs from stage2/src/protocol.h");
    }

    @Test
    void messageHoldsTheHeadersMessageTypes() throws Exception {
        Map<String, Integer> java = new TreeMap<>();
        for (Field f : Message.class.getDeclaredFields()) {
            int m = f.getModifiers();
            if (Modifier.isStatic(m) && Modifier.isPublic(m) && f.getType() == int.class) java.put(f.getName(), f.getInt(null));
        }
        assertEquals(new TreeMap<>(ProtocolHeader.read().messages()), java, "kurma.runtime.plan.Message differs from stage2/src/protocol.h");
    }

    @Test
    void planWritesTheHeadersMagicAndVersion() throws Exception {
        ProtocolHeader h = ProtocolHeader.read();
        ByteBuffer wire = ByteBuffer.wrap(new Plan().encode(new int[] {0, 1, 2})).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(Integer.toHexString(h.magic()), Integer.toHexString(wire.getInt()), "Plan's magic differs from protocol.h's PLAN_MAGIC");
        assertEquals(h.version(), wire.getInt(), "Plan's version differs from protocol.h's PLAN_VERSION");
    }

    @Test
    void planMdHasTheHeadersTables() throws Exception {
        ProtocolHeader h = ProtocolHeader.read();
        String md = Files.readString(ProtocolHeader.stage2Dir().resolve("PLAN.md"));
        List<String> wantOps = new ArrayList<>(), ops = new ArrayList<>(), messages = new ArrayList<>();
        for (ProtocolHeader.OpRow r : h.ops()) wantOps.add(r.code() + " " + r.name() + " " + r.signature().replace('w', 'u'));
        List<String> wantMessages = new ArrayList<>();
        for (Map.Entry<String, Integer> e : h.messages().entrySet()) wantMessages.add(e.getValue() + " " + e.getKey());
        String section = "";
        for (String line : md.split("\n")) {
            if (line.startsWith("## ")) section = line.substring(3);
            Matcher m = TABLE_ROW.matcher(line);
            if (!m.matches()) continue;
            if (section.equals("Operations")) ops.add(m.group(1) + " " + m.group(2) + " " + kinds(m.group(2), m.group(3)));
            else if (section.startsWith("Messages")) messages.add(m.group(1) + " " + m.group(2));
        }
        assertEquals(String.join("\n", wantOps), String.join("\n", ops),
                "stage2/PLAN.md's op table (code, name, args: u64 standing for 'u' and 'w') differs from protocol.h");
        assertEquals(String.join("\n", wantMessages), String.join("\n", messages), "stage2/PLAN.md's message table differs from protocol.h");
        assertEquals(Integer.toHexString(h.magic()), ProtocolHeader.find(Pattern.compile("u32 magic 0x([0-9a-f]+)"), md, "PLAN.md: no u32 magic"),
                "PLAN.md's wire format names another magic than protocol.h");
        assertEquals(Integer.toString(h.version()), ProtocolHeader.find(Pattern.compile("u32 version \\((\\d+)\\)"), md, "PLAN.md: no u32 version"),
                "PLAN.md's wire format names another version than protocol.h");
    }

    /**
     * The signature PLAN.md's args column spells ("path, u64 mode", "u64 argc, argv{argc},
     * env...", "-" for none), with 'u' for every u64: one letter per argument, a repeated one
     * (a name ending "..." or counted "{n}") as its letter and '*', which stands for every
     * repeated argument after it.
     */
    private static String kinds(String op, String rest) {
        int end = 0;
        while (end < rest.length() && !(rest.charAt(end) == '|' && (end == 0 || rest.charAt(end - 1) != '\\'))) end++;
        String args = rest.substring(0, end).strip();
        if (args.equals("-")) return "";
        StringBuilder sig = new StringBuilder();
        char repeat = 0;
        for (String a : args.split(",")) {
            a = a.strip();
            char kind = a.startsWith("u64 ") ? 'u' : a.startsWith("bytes ") ? 'b' : 's';
            boolean repeated = a.endsWith("...") || a.contains("{");
            if (repeat != 0 && (!repeated || kind != repeat)) return "(args of " + op + " not read: " + args + ")";
            if (repeated) repeat = kind;
            else sig.append(kind);
        }
        return repeat == 0 ? sig.toString() : sig.append(repeat).append('*').toString();
    }
}
