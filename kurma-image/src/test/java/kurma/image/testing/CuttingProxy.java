package kurma.image.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback HTTP/1.1 proxy in front of the registry that records each request's head and
 * can cut the connection in the middle of a response body: the way a pull breaks in real
 * life. Every request is forwarded with {@code Connection: close}, so one connection carries
 * one request and the proxy never has to frame a second one.
 */
public final class CuttingProxy implements AutoCloseable {
    /** A request as it came from the client: request line and headers, lower-cased names. */
    public record Request(String line, java.util.Map<String, String> headers) {}

    private final ServerSocket server;
    private final int upstreamPort;
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private volatile String cutPathContaining;
    private volatile long cutAfter;
    private final AtomicInteger cutsLeft = new AtomicInteger();
    private final Thread acceptor;

    public CuttingProxy(int upstreamPort) throws IOException {
        this.upstreamPort = upstreamPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = Thread.ofPlatform().daemon().name("cutting-proxy").start(this::acceptLoop);
    }

    public String host() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    /** The next {@code times} responses to a path containing {@code pathPart} break after {@code bodyBytes}. */
    public void cut(String pathPart, long bodyBytes, int times) {
        cutPathContaining = pathPart;
        cutAfter = bodyBytes;
        cutsLeft.set(times);
    }

    public List<Request> requests() {
        return List.copyOf(requests);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Thread.ofPlatform().daemon().start(() -> handle(client));
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void handle(Socket client) {
        try (client; Socket up = new Socket(InetAddress.getLoopbackAddress(), upstreamPort)) {
            InputStream cin = client.getInputStream();
            byte[] head = readHead(cin);
            if (head == null) return;
            String[] lines = new String(head, StandardCharsets.ISO_8859_1).split("\r\n");
            java.util.Map<String, String> headers = new java.util.LinkedHashMap<>();
            StringBuilder out = new StringBuilder(lines[0]).append("\r\n");
            for (int i = 1; i < lines.length; i++) {
                if (lines[i].isEmpty()) continue;
                int colon = lines[i].indexOf(':');
                String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
                headers.put(name, lines[i].substring(colon + 1).trim());
                if (!name.equals("connection")) out.append(lines[i]).append("\r\n");
            }
            out.append("Connection: close\r\n\r\n");
            Request req = new Request(lines[0], headers);
            requests.add(req);
            OutputStream uout = up.getOutputStream();
            uout.write(out.toString().getBytes(StandardCharsets.ISO_8859_1));
            uout.flush();
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    cin.transferTo(uout); // request bodies (pushes)
                } catch (IOException ignored) {
                    // the other side closed
                }
            });
            boolean cut = cutPathContaining != null && lines[0].contains(cutPathContaining) && lines[0].startsWith("GET ")
                    && cutsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
            InputStream uin = up.getInputStream();
            OutputStream cout = client.getOutputStream();
            byte[] respHead = readHead(uin);
            if (respHead == null) return;
            cout.write(respHead);
            long limit = cut ? cutAfter : Long.MAX_VALUE, sent = 0;
            byte[] buf = new byte[8192];
            int n;
            while (sent < limit && (n = uin.read(buf, 0, (int) Math.min(buf.length, limit - sent))) > 0) {
                cout.write(buf, 0, n);
                sent += n;
            }
            cout.flush(); // and close, short of the Content-Length: the client sees the body end early
        } catch (IOException ignored) {
            // a client or upstream that went away
        }
    }

    /** Bytes up to and including the blank line that ends an HTTP head; null at EOF. */
    private static byte[] readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c, state = 0;
        while ((c = in.read()) >= 0) {
            b.write(c);
            state = switch (state) {
                case 0, 2 -> c == '\r' ? state + 1 : 0;
                case 1 -> c == '\n' ? 2 : (c == '\r' ? 1 : 0);
                case 3 -> c == '\n' ? 4 : (c == '\r' ? 1 : 0);
                default -> 0;
            };
            if (state == 4) return b.toByteArray();
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        server.close();
        try {
            acceptor.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
