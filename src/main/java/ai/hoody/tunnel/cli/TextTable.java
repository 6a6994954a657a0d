package ai.hoody.tunnel.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** Left-aligned columns separated by two spaces, for the admin commands' readable output. */
final class TextTable {

    private static final String GAP = "  ";

    private final List<String[]> rows = new ArrayList<>();
    private final int columns;

    private TextTable(int columns) {
        this.columns = columns;
    }

    /** A table whose first row is {@code header}. */
    static TextTable withHeader(String... header) {
        TextTable t = new TextTable(header.length);
        t.rows.add(header);
        return t;
    }

    /** Label/value lines, e.g. the health answer. */
    static TextTable fields() {
        return new TextTable(2);
    }

    TextTable row(Object... cells) {
        if (cells.length != columns) {
            throw new IllegalArgumentException("row has " + cells.length + " cells, table has " + columns + " columns");
        }
        String[] text = new String[columns];
        for (int i = 0; i < columns; i++) {
            text[i] = cells[i] == null ? "-" : cells[i].toString();
        }
        rows.add(text);
        return this;
    }

    void print(PrintWriter out) {
        int[] width = new int[columns];
        for (String[] r : rows) {
            for (int i = 0; i < columns; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < columns; i++) {
                line.append(r[i]);
                if (i < columns - 1) { // no padding after the last column: no trailing blanks
                    line.append(" ".repeat(width[i] - r[i].length())).append(GAP);
                }
            }
            out.println(line);
        }
        out.flush();
    }
}
