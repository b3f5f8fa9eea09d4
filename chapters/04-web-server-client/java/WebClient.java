// WebClient.java - the article's WebClient, written for this course in
// Java so that it can run beside chapter 4's web-client: connects, sends
// "hello" N times and reads the replies.
//
// By default each "hello" ends with '\n' and each reply is read up to its
// '\n', so merged or split TCP segments change nothing. With --no-framing
// it does what the article does: "hello" with no newline, all N in one
// write, and one read taken as one reply. It prints what web-client prints
// for one connection: each reply, then the summary line.
//
// Every read waits at most --timeout seconds (default 10): a reply that
// never comes ends the run with status 1 instead of hanging.
//
// Run: build/java/bin/WebClient -p 8000 -n 5 [--no-framing]
// (make java-4 builds it)
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

public class WebClient {
    public static void main(String[] args) throws IOException {
        String host = "127.0.0.1";
        int port = 8000, messages = 5, timeout = 10;
        boolean framing = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
            case "-H", "--host" -> host = args[++i];
            case "-p", "--port" -> port = Integer.parseInt(args[++i]);
            case "-n", "--messages" -> messages = Integer.parseInt(args[++i]);
            case "-t", "--timeout" -> timeout = Integer.parseInt(args[++i]);
            case "--no-framing" -> framing = false;
            case "-h", "--help" -> {
                System.out.println("usage: java WebClient [-H HOST] [-p PORT] [-n N] [-t SECONDS] [--no-framing]");
                return;
            }
            default -> {
                System.err.println("WebClient: unknown option '" + args[i] + "'");
                System.exit(2);
            }
            }
        }
        int replies = 0, errors = 0;
        try (SocketChannel ch = SocketChannel.open(new InetSocketAddress(host, port))) {
            // A channel's read has no time limit; its socket's stream has.
            ch.socket().setSoTimeout(timeout * 1000);
            InputStream stream = ch.socket().getInputStream();
            // excerpt:begin framed
            ByteBuffer in = ByteBuffer.allocate(4096);
            StringBuilder line = new StringBuilder();
            if (framing) {
                ByteBuffer hello = ByteBuffer.wrap("hello\n".getBytes(StandardCharsets.US_ASCII));
                while (replies < messages) {
                    hello.rewind();
                    while (hello.hasRemaining())
                        ch.write(hello);
                    boolean whole = false;
                    while (!whole) { // read until the reply's '\n'
                        int n = stream.read(in.array());
                        if (n < 0)
                            throw new IOException("the server closed in the middle of a reply");
                        in.position(0).limit(n);
                        while (in.hasRemaining()) {
                            char c = (char) in.get();
                            if (c != '\n') {
                                line.append(c);
                                continue;
                            }
                            System.out.println("reply " + ++replies + ": " + line);
                            line.setLength(0);
                            whole = true;
                        }
                    }
                }
            // excerpt:end framed
            } else {
                ByteBuffer all = ByteBuffer.wrap("hello".repeat(messages).getBytes(StandardCharsets.US_ASCII));
                while (all.hasRemaining())
                    ch.write(all);
                for (int i = 0; i < messages; i++) {
                    int n = stream.read(in.array()); // one read = one reply
                    if (n < 0)
                        break;
                    System.out.println("read " + ++replies + ": \""
                                       + new String(in.array(), 0, n, StandardCharsets.US_ASCII) + "\"");
                }
            }
        } catch (SocketTimeoutException e) {
            System.err.println("WebClient: " + (messages - replies) + " of "
                               + messages + " replies missing");
        } catch (IOException e) {
            System.err.println("WebClient: " + e.getMessage());
            errors = 1;
        }
        System.out.println("summary: connections 1, messages sent " + messages
                           + ", replies received " + replies + ", errors " + errors);
        System.exit(errors == 0 && replies == messages ? 0 : 1);
    }
}
