/*
 * NioDiff.java - the Java half of the differential check (the C half is
 * tests/unit/nio_diff.c; tests/java-diff.bats runs both and compares).
 *
 *   java NioDiff buffer < SCRIPT    replays a Buffer script on ByteBuffer
 *   java NioDiff selector           the scripted Selector scenarios
 *
 * It prints the transcript nio_diff prints: every exception is named by
 * the C status or errno that buffer.h, channel.h and selector.h give for
 * it, so that the two can be compared line by line.
 */
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.BufferOverflowException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.InvalidMarkException;
import java.nio.ReadOnlyBufferException;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.IllegalBlockingModeException;
import java.nio.channels.NoConnectionPendingException;
import java.nio.channels.Pipe;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

public final class NioDiff {
    private static final int SLOTS = 4;
    private static final StringBuilder out = new StringBuilder();

    private static void print(String text) {
        out.append(text);
    }

    private static void println(String text) {
        out.append(text).append('\n');
        if (out.length() > 1 << 16) {
            System.out.print(out);
            out.setLength(0);
        }
    }

    // --- Buffer --------------------------------------------------------

    /** The status buffer.h returns where ByteBuffer throws. */
    private static String status(RuntimeException e) {
        if (e instanceof BufferOverflowException) return "BUFFER_OVERFLOW";
        if (e instanceof BufferUnderflowException) return "BUFFER_UNDERFLOW";
        if (e instanceof InvalidMarkException) return "BUFFER_INVALID_MARK";
        if (e instanceof IndexOutOfBoundsException) return "BUFFER_INDEX_OUT_OF_RANGE";
        if (e instanceof ReadOnlyBufferException) return "BUFFER_READ_ONLY";
        if (e instanceof IllegalArgumentException) return "BUFFER_BAD_ARGUMENT";
        throw e;
    }

    private static String run(Runnable action) {
        try {
            action.run();
            return " -> BUFFER_OK";
        } catch (RuntimeException e) {
            return " -> " + status(e);
        }
    }

    private static String value(Supplier<Object> action) {
        try {
            return " -> BUFFER_OK " + action.get();
        } catch (RuntimeException e) {
            return " -> " + status(e);
        }
    }

    /** Creating: buffer.h returns NULL with errno EINVAL for bad arguments. */
    private static String create(ByteBuffer[] slots, int s, Supplier<ByteBuffer> make) {
        try {
            slots[s] = make.get();
            return " -> BUFFER_OK";
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            return " -> NULL EINVAL";
        } catch (OutOfMemoryError e) {
            return " -> NULL ENOMEM";
        }
    }

    private static String hex(byte[] bytes) {
        StringBuilder text = new StringBuilder();
        for (byte b : bytes) text.append(String.format("%02x", b & 0xff));
        return text.toString();
    }

    private static byte[] unhex(String text) {
        if (text.equals("-")) return new byte[0];
        byte[] bytes = new byte[text.length() / 2];
        for (int i = 0; i < bytes.length; i++)
            bytes[i] = (byte) Integer.parseInt(text.substring(2 * i, 2 * i + 2), 16);
        return bytes;
    }

    /** Java keeps the mark private; a duplicate's reset finds it. */
    private static String mark(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        try {
            d.reset();
            return Integer.toString(d.position());
        } catch (InvalidMarkException e) {
            return "-";
        }
    }

    private static void printState(ByteBuffer[] slots) {
        for (int i = 0; i < SLOTS; i++) {
            ByteBuffer b = slots[i];
            if (b == null) continue;
            byte[] bytes = new byte[b.capacity()];
            ByteBuffer whole = b.duplicate().clear(); // every byte, not just to the limit
            for (int j = 0; j < bytes.length; j++) bytes[j] = whole.get(j);
            println("  " + i + ": pos=" + b.position() + " lim=" + b.limit()
                    + " cap=" + b.capacity() + " mark=" + mark(b) + " "
                    + (b.order() == ByteOrder.BIG_ENDIAN ? "BE" : "LE")
                    + (b.isReadOnly() ? " ro" : "") + " bytes=" + hex(bytes));
        }
    }

    private static void replayBuffer() throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        ByteBuffer[] slots = new ByteBuffer[SLOTS];
        long steps = 0, sequences = 0;
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.trim().split(" ");
            if (w[0].isEmpty()) continue;
            String op = w[0];
            if (op.equals("sequence")) {
                java.util.Arrays.fill(slots, null);
                sequences++;
                println(line);
                continue;
            }
            steps++;
            int s = Integer.parseInt(w[1]);
            int a = w.length > 2 && !op.equals("put_bytes") && !op.equals("order")
                    ? (int) Long.parseLong(w[2]) : 0;
            int b = w.length > 3 && !op.equals("put_bytes_at") ? (int) Long.parseLong(w[3]) : 0;
            int c = w.length > 4 ? (int) Long.parseLong(w[4]) : 0;
            ByteBuffer x = slots[s];
            ByteBuffer y = a >= 0 && a < SLOTS ? slots[a] : null;
            String result;
            final int fa = a, fb = b, fc = c;
            switch (op) {
            case "allocate":
                result = create(slots, s, () -> ByteBuffer.allocate(fa));
                break;
            case "wrap":
                result = a < 0 ? " -> SKIP" : create(slots, s, () -> ByteBuffer.wrap(new byte[fa]));
                break;
            case "wrap_range":
                result = create(slots, s, () -> ByteBuffer.wrap(new byte[fa], fb, fc));
                break;
            case "slice": case "duplicate": case "as_read_only": case "slice_range": {
                final ByteBuffer src = y;
                if (src == null) result = " -> EMPTY";
                else if (op.equals("slice")) result = create(slots, s, src::slice);
                else if (op.equals("duplicate")) result = create(slots, s, src::duplicate);
                else if (op.equals("as_read_only")) result = create(slots, s, src::asReadOnlyBuffer);
                else result = create(slots, s, () -> src.slice(fb, fc));
                break;
            }
            default:
                result = x == null ? " -> EMPTY" : operate(op, x, y, w, a, b);
            }
            println(line + result);
            printState(slots);
        }
        System.out.print(out);
        out.setLength(0);
        System.err.println("buffer: " + sequences + " sequences, " + steps + " operations");
    }

    private static String operate(String op, ByteBuffer x, ByteBuffer y, String[] w, int a, int b) {
        switch (op) {
        case "set_position": return run(() -> x.position(a));
        case "set_limit": return run(() -> x.limit(a));
        case "mark": return run(x::mark);
        case "reset": return run(x::reset);
        case "clear": return run(x::clear);
        case "flip": return run(x::flip);
        case "rewind": return run(x::rewind);
        case "compact": return run(x::compact);
        case "order":
            return run(() -> x.order(w[2].equals("LE") ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN));
        case "get": return value(() -> x.get());
        case "put": return run(() -> x.put((byte) a));
        case "get_at": return value(() -> x.get(a));
        case "put_at": return run(() -> x.put(a, (byte) b));
        case "get_bytes": {
            byte[] dst = new byte[a];
            return value(() -> hex(x.get(dst) == x ? dst : null));
        }
        case "get_bytes_at": {
            byte[] dst = new byte[b];
            return value(() -> hex(x.get(a, dst) == x ? dst : null));
        }
        case "put_bytes": return run(() -> x.put(unhex(w[2])));
        case "put_bytes_at": return run(() -> x.put(a, unhex(w[3])));
        case "put_buffer": return y == null ? " -> EMPTY" : run(() -> x.put(y));
        case "get_short": return value(() -> x.getShort());
        case "get_int": return value(() -> x.getInt());
        case "get_long": return value(() -> x.getLong());
        case "get_short_at": return value(() -> x.getShort(a));
        case "get_int_at": return value(() -> x.getInt(a));
        case "get_long_at": return value(() -> x.getLong(a));
        case "put_short": return run(() -> x.putShort((short) Long.parseLong(w[2])));
        case "put_int": return run(() -> x.putInt((int) Long.parseLong(w[2])));
        case "put_long": return run(() -> x.putLong(Long.parseLong(w[2])));
        case "put_short_at": return run(() -> x.putShort(a, (short) Long.parseLong(w[3])));
        case "put_int_at": return run(() -> x.putInt(a, (int) Long.parseLong(w[3])));
        case "put_long_at": return run(() -> x.putLong(a, Long.parseLong(w[3])));
        case "equals": return y == null ? " -> EMPTY" : " -> " + x.equals(y);
        case "compare": return y == null ? " -> EMPTY" : " -> " + Integer.signum(x.compareTo(y));
        case "array": return run(x::array);
        default: return " -> UNKNOWN";
        }
    }

    // --- Selector ------------------------------------------------------

    private static final Map<SelectionKey, String> names = new HashMap<>();

    private static String ops(int ops) {
        String text = ((ops & SelectionKey.OP_READ) != 0 ? "R" : "")
                + ((ops & SelectionKey.OP_WRITE) != 0 ? "W" : "")
                + ((ops & SelectionKey.OP_CONNECT) != 0 ? "C" : "")
                + ((ops & SelectionKey.OP_ACCEPT) != 0 ? "A" : "");
        return ops == 0 ? "0" : text;
    }

    private static void printSelected(Selector sel, boolean keep) {
        List<String> found = new ArrayList<>();
        Iterator<SelectionKey> it = sel.selectedKeys().iterator();
        while (it.hasNext()) {
            SelectionKey key = it.next();
            String ready;
            try {
                ready = ops(key.readyOps());
            } catch (CancelledKeyException e) {
                ready = "CANCELLED";
            }
            found.add(names.getOrDefault(key, "?") + ":" + ready);
            if (!keep) it.remove();
        }
        found.sort(null);
        StringBuilder line = new StringBuilder("  selected:");
        for (String f : found) line.append(' ').append(f);
        println(line.toString());
    }

    private static void select(Selector sel, String what, boolean keep) throws IOException {
        println(what + " -> " + sel.select(5000));
        printSelected(sel, keep);
    }

    private static void printKey(String what, SelectionKey key) {
        String interest, ready;
        try {
            interest = ops(key.interestOps());
        } catch (CancelledKeyException e) {
            interest = "SELECTOR_CANCELLED_KEY";
        }
        try {
            ready = ops(key.readyOps());
        } catch (CancelledKeyException e) {
            ready = "SELECTOR_CANCELLED_KEY";
        }
        println(what + ": valid=" + (key.isValid() ? 1 : 0) + " interest=" + interest + " ready=" + ready);
    }

    private interface Registration {
        SelectionKey register() throws IOException;
    }

    private static SelectionKey lastKey;

    /** register's outcome as selector.h names it. */
    private static String register(Registration r) throws IOException {
        try {
            lastKey = r.register();
            return "SELECTOR_OK";
        } catch (IllegalArgumentException e) {
            return "SELECTOR_INVALID_OPS";
        } catch (IllegalBlockingModeException e) {
            return "SELECTOR_BLOCKING_CHANNEL";
        } catch (CancelledKeyException e) {
            return "SELECTOR_CANCELLED_KEY";
        } catch (ClosedChannelException e) {
            return "SELECTOR_CLOSED_CHANNEL";
        }
    }

    private static int configureBlocking(SelectableChannel ch, boolean blocking) throws IOException {
        try {
            ch.configureBlocking(blocking);
            return 0;
        } catch (IllegalBlockingModeException e) {
            return -1;
        }
    }

    private static int b(boolean value) {
        return value ? 1 : 0;
    }

    private static ServerSocketChannel listen() throws IOException {
        return ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0), 16);
    }

    private static void writeText(java.nio.channels.WritableByteChannel ch, String text) throws IOException {
        println("write " + text + " -> " + ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII))));
    }

    private static void readText(java.nio.channels.ReadableByteChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(64);
        int n = ch.read(b);
        println("read -> " + n + (n > 0 ? " " + new String(b.array(), 0, n, StandardCharsets.US_ASCII) : ""));
    }

    private static void scenarioEcho(Selector sel) throws IOException {
        println("scenario accept-read-write");
        ServerSocketChannel server = listen();
        InetSocketAddress at = (InetSocketAddress) server.getLocalAddress();
        println("register server blocking -> " + register(() -> server.register(sel, SelectionKey.OP_ACCEPT)));
        server.configureBlocking(false);
        println("register server OP_READ -> " + register(() -> server.register(sel, SelectionKey.OP_READ)));
        println("register server -> " + register(() -> server.register(sel, SelectionKey.OP_ACCEPT)));
        SelectionKey ks = lastKey;
        names.put(ks, "server");
        println("server: valid ops " + ops(server.validOps()) + " registered=" + b(server.isRegistered()));
        SocketChannel client = SocketChannel.open(at);
        select(sel, "select", false);
        SocketChannel peer = server.accept();
        println("accept -> " + (peer != null ? "channel" : "NULL") + " connected=" + b(peer.isConnected()));
        println("peer: valid ops " + ops(peer.validOps()));
        peer.configureBlocking(false);
        SelectionKey kp = peer.register(sel, SelectionKey.OP_READ);
        names.put(kp, "peer");
        writeText(client, "hello");
        select(sel, "select", false);
        readText(peer);
        int previous = kp.interestOpsOr(SelectionKey.OP_WRITE);
        println("interest_ops_or W -> SELECTOR_OK previous=" + ops(previous));
        select(sel, "select", true);
        println("select_now -> " + sel.selectNow());
        printSelected(sel, false);
        previous = kp.interestOpsAnd(~SelectionKey.OP_WRITE);
        println("interest_ops_and ~W -> SELECTOR_OK previous=" + ops(previous));
        writeText(client, "a");
        select(sel, "select", true);
        kp.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
        println("set interest RW -> SELECTOR_OK");
        select(sel, "select (accumulates)", false);
        readText(peer);
        println("blocking while registered -> " + configureBlocking(peer, true) + " "
                + (peer.isBlocking() ? "blocking" : "non-blocking"));
        client.close();
        kp.interestOps(SelectionKey.OP_READ);
        select(sel, "select after the client closed", false);
        readText(peer);
        peer.close();
        printKey("peer after close", kp);
        println("select_now -> " + sel.selectNow() + " keys=" + sel.keys().size());
        server.close();
        println("keys after closing the server: select_now -> " + sel.selectNow() + " keys=" + sel.keys().size());
    }

    private static String errnoOf(IOException e) {
        if (e instanceof ConnectException) return "ECONNREFUSED";
        return "E?";
    }

    private static void scenarioConnect(Selector sel) throws IOException {
        println("scenario connect");
        ServerSocketChannel server = listen();
        InetSocketAddress at = (InetSocketAddress) server.getLocalAddress();
        SocketChannel fresh = SocketChannel.open();
        try {
            println("finish_connect with none pending -> " + (fresh.finishConnect() ? 1 : 0) + " ");
        } catch (NoConnectionPendingException e) {
            println("finish_connect with none pending -> -1 ENOTCONN");
        }
        fresh.close();
        SocketChannel client = SocketChannel.open();
        client.configureBlocking(false);
        boolean rc = client.connect(at);
        println("connect -> " + rc + " pending=" + b(client.isConnectionPending()) + " connected="
                + b(client.isConnected()));
        SelectionKey kc = client.register(sel, SelectionKey.OP_CONNECT | SelectionKey.OP_WRITE);
        names.put(kc, "client");
        select(sel, "select", false);
        boolean done = client.finishConnect();
        println("finish_connect -> " + done + " connected=" + b(client.isConnected()) + " pending="
                + b(client.isConnectionPending()));
        select(sel, "select", false);
        println("finish_connect again -> " + client.finishConnect());
        SocketChannel peer = server.accept();
        peer.close();
        client.close();
        println("select_now -> " + sel.selectNow() + " keys=" + sel.keys().size());

        server.close();
        SocketChannel refused = SocketChannel.open();
        refused.configureBlocking(false);
        try {
            println("connect to a closed port -> " + refused.connect(at));
        } catch (IOException e) {
            println("connect to a closed port -> " + errnoOf(e));
        }
        String registered = register(() -> refused.register(sel, SelectionKey.OP_CONNECT));
        SelectionKey kr = lastKey;
        if (registered.equals("SELECTOR_OK")) names.put(kr, "refused");
        select(sel, "select", false);
        try {
            println("finish_connect -> " + (refused.finishConnect() ? 1 : 0) + "  open=" + b(refused.isOpen()));
        } catch (IOException e) {
            println("finish_connect -> -1 " + errnoOf(e) + " open=" + b(refused.isOpen()));
        }
        printKey("refused key", kr);
        println("select_now -> " + sel.selectNow() + " keys=" + sel.keys().size());
        println("register the closed channel -> " + register(() -> refused.register(sel, SelectionKey.OP_READ)));
        refused.close();
    }

    private static void scenarioCancel(Selector sel) throws IOException {
        println("scenario cancel");
        ServerSocketChannel server = listen();
        InetSocketAddress at = (InetSocketAddress) server.getLocalAddress();
        SocketChannel client = SocketChannel.open(at);
        SocketChannel peer = server.accept();
        peer.configureBlocking(false);
        SelectionKey kp = peer.register(sel, SelectionKey.OP_READ);
        names.put(kp, "peer");
        writeText(client, "x");
        select(sel, "select", true);
        kp.cancel();
        printKey("after cancel", kp);
        println("key_for -> " + (peer.keyFor(sel) == kp ? "the key" : "none") + " registered="
                + b(peer.isRegistered()));
        println("selected still: " + sel.selectedKeys().size());
        try {
            kp.interestOps(SelectionKey.OP_READ);
            println("set interest -> SELECTOR_OK");
        } catch (CancelledKeyException e) {
            println("set interest -> SELECTOR_CANCELLED_KEY");
        }
        println("register again -> " + register(() -> peer.register(sel, SelectionKey.OP_READ)));
        println("blocking after cancel -> " + configureBlocking(peer, true));
        peer.configureBlocking(false);
        int n = sel.selectNow();
        println("select_now -> " + n + " selected=" + sel.selectedKeys().size() + " keys=" + sel.keys().size());
        println("key_for -> " + (peer.keyFor(sel) == null ? "none" : "a key") + " registered="
                + b(peer.isRegistered()));
        println("register again -> " + register(() -> peer.register(sel, SelectionKey.OP_READ)));
        names.put(lastKey, "peer2");
        lastKey.attach("token");
        peer.register(sel, SelectionKey.OP_READ);
        println("attachment after registering again without one -> "
                + (lastKey.attachment() != null ? "kept" : "none") + " [S1]");
        select(sel, "select", false);
        readText(peer);
        sel.wakeup();
        sel.wakeup();
        println("two wakeups, then select -> " + sel.select());
        println("then select_now -> " + sel.selectNow());
        peer.close();
        client.close();
        server.close();
        sel.selectNow();
    }

    private static void scenarioPipe(Selector sel) throws IOException {
        println("scenario pipe");
        Pipe pipe = Pipe.open();
        Pipe.SourceChannel source = pipe.source();
        Pipe.SinkChannel sink = pipe.sink();
        println("valid ops: source " + ops(source.validOps()) + " sink " + ops(sink.validOps()));
        source.configureBlocking(false);
        sink.configureBlocking(false);
        println("register source OP_WRITE -> " + register(() -> source.register(sel, SelectionKey.OP_WRITE)));
        SelectionKey kr = source.register(sel, SelectionKey.OP_READ);
        SelectionKey kw = sink.register(sel, SelectionKey.OP_WRITE);
        names.put(kr, "source");
        names.put(kw, "sink");
        select(sel, "select", false);
        writeText(sink, "p");
        select(sel, "select", false);
        readText(source);
        source.close();
        sink.close();
        println("select_now -> " + sel.selectNow() + " keys=" + sel.keys().size());
    }

    private interface Scenario {
        void run(Selector sel) throws IOException;
    }

    private static void runSelector() throws IOException {
        Scenario[] scenarios = {NioDiff::scenarioEcho, NioDiff::scenarioConnect, NioDiff::scenarioCancel,
            NioDiff::scenarioPipe};
        for (Scenario s : scenarios) {
            try (Selector sel = Selector.open()) {
                names.clear();
                s.run(sel);
            }
        }
        System.out.print(out);
        out.setLength(0);
        System.err.println("selector: " + scenarios.length + " scenarios");
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 1 && args[0].equals("buffer")) {
            replayBuffer();
        } else if (args.length == 1 && args[0].equals("selector")) {
            runSelector();
        } else {
            System.err.println("usage: java NioDiff buffer < SCRIPT | selector");
            System.exit(2);
        }
    }
}
