package kurma.image.unpack;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Watches the tar stream that commons-compress reads, block by block, for two things it does
 * not give:
 *
 * <ul>
 * <li>The raw bytes of {@code SCHILY.xattr.*} PAX records. commons-compress decodes every
 * PAX value as UTF-8 text, and extended attribute values are binary: a file capability such
 * as cap_setuid (bit 7) has a byte 0x80 that comes out as U+FFFD. Go's archive/tar (Docker,
 * containerd, BuildKit) and GNU tar write the raw bytes.
 * <li>A bound on "special" headers (PAX extended headers, GNU long names), which
 * commons-compress reads whole into memory: 1 MiB at most, as Go's archive/tar allows, so a
 * 2 GB long name is an error rather than an OutOfMemoryError.
 * </ul>
 *
 * <p>It follows only the block structure (header, data padded to 512 bytes; the size comes from
 * the header or a PAX "size" record; old GNU sparse headers' extension blocks) and queues one
 * {@link Header} per real entry, in order; the reader takes one per entry commons-compress
 * returns and checks that type and size agree, so the two can never silently disagree about
 * where an entry is.
 */
final class TarHeaderTap extends FilterInputStream {
    static final int MAX_SPECIAL = 1 << 20;
    private static final String XATTR = "SCHILY.xattr.";

    /** One real entry as the tap saw it: type flag, data size, raw xattrs from its PAX header. */
    record Header(byte type, long size, Map<String, byte[]> xattrs) {}

    private enum State { HEADER, SKIP, PAX, SPARSE_EXTENSION, END }

    private final ArrayDeque<Header> headers = new ArrayDeque<>();
    private final byte[] block = new byte[512];
    private int blockFill;
    private State state = State.HEADER;
    /** SKIP and PAX: bytes left, padding included. */
    private long remaining;
    private byte[] pax;
    private int paxFill;
    private long afterExtension;
    private Map<String, byte[]> pendingXattrs = new HashMap<>();
    private long pendingSize = -1;

    TarHeaderTap(InputStream in) {
        super(in);
    }

    /** The header of the next real entry, in the order commons-compress returns them. */
    Header next() throws LayerException {
        Header h = headers.poll();
        if (h == null) throw new LayerException("the tar stream is malformed (an entry without a header)");
        return h;
    }

    @Override
    public int read() throws IOException {
        int b = in.read();
        if (b >= 0) feed(new byte[] {(byte) b}, 0, 1);
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n > 0) feed(b, off, n);
        return n;
    }

    /** Skipped bytes must be seen too: read them. */
    @Override
    public long skip(long n) throws IOException {
        byte[] buf = new byte[(int) Math.min(n, 65536)];
        long done = 0;
        while (done < n) {
            int r = read(buf, 0, (int) Math.min(buf.length, n - done));
            if (r < 0) break;
            done += r;
        }
        return done;
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    private void feed(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            switch (state) {
                case END -> {
                    return;
                }
                case SKIP -> {
                    int k = (int) Math.min(remaining, len);
                    off += k;
                    len -= k;
                    remaining -= k;
                    if (remaining == 0) state = State.HEADER;
                }
                case PAX -> {
                    int k = (int) Math.min(remaining, len);
                    int data = Math.min(k, pax.length - paxFill);
                    if (data > 0) System.arraycopy(b, off, pax, paxFill, data);
                    paxFill += data;
                    off += k;
                    len -= k;
                    remaining -= k;
                    if (remaining == 0) {
                        parsePax(pax);
                        state = State.HEADER;
                    }
                }
                case HEADER, SPARSE_EXTENSION -> {
                    int k = Math.min(512 - blockFill, len);
                    System.arraycopy(b, off, block, blockFill, k);
                    blockFill += k;
                    off += k;
                    len -= k;
                    if (blockFill == 512) {
                        blockFill = 0;
                        if (state == State.HEADER) header();
                        else extension();
                    }
                }
            }
        }
    }

    private void header() throws LayerException {
        boolean zero = true;
        for (byte x : block) zero &= x == 0;
        if (zero) {
            state = State.END; // end-of-archive; commons-compress stops here too
            return;
        }
        byte type = block[156];
        long size = number(124, 12);
        switch (type) {
            case 'x', 'g', 'L', 'K' -> {
                if (size > MAX_SPECIAL) {
                    throw new LayerException("the tar stream has a " + size + "-byte " + (type == 'x' || type == 'g' ? "PAX extended header" : "GNU long name")
                            + ", more than the " + MAX_SPECIAL + " bytes allowed");
                }
                remaining = padded(size);
                if (type == 'x') {
                    pax = new byte[(int) size];
                    paxFill = 0;
                    if (remaining == 0) parsePax(pax);
                    else state = State.PAX;
                } else {
                    state = remaining == 0 ? State.HEADER : State.SKIP;
                }
            }
            default -> {
                long dataSize = pendingSize >= 0 ? pendingSize : size;
                headers.add(new Header(type, dataSize, pendingXattrs));
                pendingXattrs = new HashMap<>();
                pendingSize = -1;
                if (type == 'S' && block[482] != 0) {
                    afterExtension = padded(dataSize);
                    state = State.SPARSE_EXTENSION;
                } else {
                    remaining = padded(dataSize);
                    state = remaining == 0 ? State.HEADER : State.SKIP;
                }
            }
        }
    }

    private void extension() {
        if (block[504] != 0) return; // another extension block follows
        remaining = afterExtension;
        state = remaining == 0 ? State.HEADER : State.SKIP;
    }

    /** "LENGTH KEYWORD=VALUE\n" records; keeps the xattrs' raw values and "size". */
    private void parsePax(byte[] data) throws LayerException {
        int pos = 0;
        while (pos < data.length && data[pos] != 0) {
            int len = 0, i = pos;
            while (i < data.length && data[i] >= '0' && data[i] <= '9' && len < data.length) len = len * 10 + (data[i++] - '0');
            int end = pos + len;
            if (i == pos || i >= data.length || data[i] != ' ' || len <= 0 || end > data.length || data[end - 1] != '\n') {
                throw new LayerException("the tar stream has a malformed PAX extended header");
            }
            int eq = i + 1;
            while (eq < end - 1 && data[eq] != '=') eq++;
            if (eq >= end - 1) throw new LayerException("the tar stream has a malformed PAX extended header");
            String key = new String(data, i + 1, eq - i - 1, StandardCharsets.UTF_8);
            byte[] value = Arrays.copyOfRange(data, eq + 1, end - 1);
            if (key.startsWith(XATTR)) {
                // An empty value deletes the keyword (POSIX pax), here the attribute.
                if (value.length == 0) pendingXattrs.remove(key.substring(XATTR.length()));
                else pendingXattrs.put(key.substring(XATTR.length()), value);
            } else if (key.equals("size")) {
                try {
                    pendingSize = Long.parseLong(new String(value, StandardCharsets.US_ASCII));
                } catch (NumberFormatException e) {
                    throw new LayerException("the tar stream has a malformed PAX size record");
                }
                if (pendingSize < 0) throw new LayerException("the tar stream has a negative PAX size record");
            }
            pos = end;
        }
    }

    /** An octal header field, or GNU's base-256 form (high bit of the first byte set). */
    private long number(int off, int len) throws LayerException {
        if ((block[off] & 0x80) != 0) {
            if ((block[off] & 0x40) != 0) throw new LayerException("the tar stream has a negative size");
            long v = block[off] & 0x3f;
            for (int i = 1; i < len; i++) {
                if ((v >>> 55) != 0) throw new LayerException("the tar stream has a size too large");
                v = (v << 8) | (block[off + i] & 0xff);
            }
            return v;
        }
        int i = off, end = off + len;
        while (i < end && (block[i] == ' ' || block[i] == 0)) i++;
        long v = 0;
        while (i < end && block[i] >= '0' && block[i] <= '7') v = v * 8 + (block[i++] - '0');
        return v;
    }

    private static long padded(long n) {
        return (n + 511) & ~511L;
    }
}
