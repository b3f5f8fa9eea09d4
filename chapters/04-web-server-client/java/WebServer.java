// WebServer.java - the article's WebServer, written for this course in
// Java so that it can run beside chapter 4's web-server: one thread, one
// Selector, chapter 4's protocol (each line gets "received").
//
// By default each connection has its own buffers as its key's attachment
// and lines are framed by '\n', as web-server does it. With --seed it runs
// the article's design, faults included, like web-server --seed: one read
// buffer and one write buffer shared by every client, one read taken as
// one message, the whole shared array printed, "received" with no newline.
//
// Run: build/java/bin/WebServer -p 8000 [--seed]
// (make java-4 builds it; Ctrl-C or SIGTERM stops a server)
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;

public class WebServer {
    static final int BUFFER_SIZE = 4096;

    // One connection's state: the attachment of its key.
    static final class Session {
        final ByteBuffer in = ByteBuffer.allocate(BUFFER_SIZE);
        final ByteBuffer out = ByteBuffer.allocate(BUFFER_SIZE);
        boolean ended; // the peer has sent end of stream
    }

    // excerpt:begin serve
    // Reads what is there, answers each complete line, then says what the
    // connection waits for next: OP_WRITE while replies are pending.
    static void serve(SelectionKey key) throws IOException {
        SocketChannel ch = (SocketChannel) key.channel();
        Session s = (Session) key.attachment();
        if (key.isReadable() && s.out.position() < BUFFER_SIZE / 2) {
            if (ch.read(s.in) < 0)
                s.ended = true;
            s.in.flip();
            for (int i = s.in.position(); i < s.in.limit(); i++) {
                if (s.in.get(i) == '\n') { // one whole line
                    s.out.put("received\n".getBytes(StandardCharsets.US_ASCII));
                    s.in.position(i + 1);
                }
            }
            s.in.compact();
            if (!s.in.hasRemaining()) { // a line longer than the buffer
                ch.close();
                return;
            }
        }
        s.out.flip();
        ch.write(s.out);
        s.out.compact();
        if (s.ended && s.out.position() == 0) {
            ch.close(); // every reply sent
            return;
        }
        key.interestOps(s.out.position() > 0 ? SelectionKey.OP_WRITE
                                             : SelectionKey.OP_READ);
    }
    // excerpt:end serve

    // excerpt:begin seed
    // --seed: the article's handlers. Every client shares these two buffers.
    static final ByteBuffer readBuff = ByteBuffer.allocate(1024);
    static final ByteBuffer writeBuff = ByteBuffer.allocate(128);

    static void seedServe(SelectionKey key) throws IOException {
        SocketChannel ch = (SocketChannel) key.channel();
        if (key.isReadable()) {
            readBuff.clear();
            if (ch.read(readBuff) < 0) { // the one fix kept, as in C
                System.out.println("end of stream: the seed would answer "
                                   + "and read again; closing");
                ch.close();
                return;
            }
            readBuff.flip();
            // The whole array, not the bytes just read (trimmed of the
            // zero bytes never written, so that a terminal shows it).
            System.out.println("received : "
                               + new String(readBuff.array()).trim());
            key.interestOps(SelectionKey.OP_WRITE);
        } else if (key.isWritable()) {
            writeBuff.rewind();
            ch.write(writeBuff); // the count is ignored
            key.interestOps(SelectionKey.OP_READ);
        }
    }
    // excerpt:end seed

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 8000;
        boolean seed = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
            case "-p", "--port" -> port = Integer.parseInt(args[++i]);
            case "-b", "--bind" -> host = args[++i];
            case "--seed" -> seed = true;
            case "-h", "--help" -> {
                System.out.println("usage: java WebServer [-p PORT] [-b ADDRESS] [--seed]");
                return;
            }
            default -> {
                System.err.println("WebServer: unknown option '" + args[i] + "'");
                System.exit(2);
            }
            }
        }
        writeBuff.put("received".getBytes(StandardCharsets.US_ASCII)).flip();
        Selector selector = Selector.open();
        ServerSocketChannel ssc = ServerSocketChannel.open();
        ssc.bind(new InetSocketAddress(host, port), 1024);
        ssc.configureBlocking(false);
        ssc.register(selector, SelectionKey.OP_ACCEPT);
        InetSocketAddress bound = (InetSocketAddress) ssc.getLocalAddress();
        System.out.println("listening on " + host + ":" + bound.getPort());
        System.out.flush();
        Stopper stop = new Stopper(selector);

        while (!stop.requested()) {
            selector.select();
            Iterator<SelectionKey> it = selector.selectedKeys().iterator();
            while (it.hasNext()) {
                SelectionKey key = it.next();
                it.remove();
                try {
                    if (key.isAcceptable()) {
                        SocketChannel ch = ssc.accept();
                        if (ch == null)
                            continue;
                        ch.configureBlocking(false);
                        ch.register(selector, SelectionKey.OP_READ,
                                    seed ? null : new Session());
                    } else if (seed) {
                        seedServe(key);
                    } else {
                        serve(key);
                    }
                } catch (IOException e) { // this connection only
                    key.channel().close();
                }
            }
        }
        for (SelectionKey key : selector.keys())
            key.channel().close();
        selector.close();
        stop.done();
    }
}
