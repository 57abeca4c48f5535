package kurma.cli;

import java.io.PrintStream;
import java.util.List;

/** Columns padded to their widest cell, as docker prints its tables. */
final class Table {
    private Table() {}

    static void print(PrintStream out, List<String[]> rows) {
        int[] width = new int[rows.getFirst().length];
        for (String[] r : rows) for (int i = 0; i < r.length; i++) width[i] = Math.max(width[i], r[i].length());
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                line.append(r[i]);
                if (i < r.length - 1) line.append(" ".repeat(width[i] - r[i].length() + 3));
            }
            out.println(line.toString().stripTrailing());
        }
    }
}
