// NioServer.java - the article's two-selector NIOServer, written for this
// course in Java so that it can run beside chapter 6's boss-worker-server:
// a boss thread's Selector accepts, worker threads' Selectors serve
// chapter 4's protocol (WebServer.serve, from chapter 4's Java).
//
// The boss never registers a channel on a worker's Selector itself: a
// Selector blocked in select() holds the lock register() needs. It queues
// the channel and wakes the worker, which registers it on its own thread,
// as Netty does. With --poll-ms MS the workers do it the article's way
// instead: select(MS) in a loop, waking every MS milliseconds whether or
// not there is work, and a hand-off waits for the next wakeup.
//
// Run: build/java/bin/NioServer -p 8000 [--workers N] [--poll-ms MS]
// (make java-6 builds it; Ctrl-C or SIGTERM stops a server)
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

public class NioServer {
    static volatile boolean stopping;
    static final AtomicLong selections = new AtomicLong();

    // excerpt:begin worker
    static final class Worker extends Thread {
        final Selector selector = Selector.open();
        final Queue<SocketChannel> handed = new ConcurrentLinkedQueue<>();
        final long pollMs;

        Worker(long pollMs) throws IOException {
            this.pollMs = pollMs;
        }

        // On the boss's thread: queue the channel, wake the worker.
        void adopt(SocketChannel ch) {
            handed.add(ch);
            if (pollMs == 0)
                selector.wakeup();
        }

        @Override
        public void run() {
            try {
                while (!stopping) {
                    selector.select(pollMs); // 0: until there is work
                    selections.incrementAndGet();
                    for (SocketChannel ch; (ch = handed.poll()) != null;) {
                        ch.configureBlocking(false); // on its own thread
                        ch.register(selector, SelectionKey.OP_READ,
                                    new WebServer.Session());
                    }
                    for (SelectionKey key : selector.selectedKeys()) {
                        try {
                            WebServer.serve(key);
                        } catch (IOException e) {
                            key.channel().close(); // this connection only
                        }
                    }
                    selector.selectedKeys().clear();
                }
                for (SelectionKey key : selector.keys())
                    key.channel().close();
                selector.close();
            } catch (IOException e) {
                System.err.println("NioServer: worker: " + e.getMessage());
            }
        }
    }
    // excerpt:end worker

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 8000, workers = 1;
        long pollMs = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
            case "-p", "--port" -> port = Integer.parseInt(args[++i]);
            case "-b", "--bind" -> host = args[++i];
            case "-w", "--workers" -> workers = Integer.parseInt(args[++i]);
            case "--poll-ms" -> pollMs = Long.parseLong(args[++i]);
            case "-h", "--help" -> {
                System.out.println("usage: java NioServer [-p PORT] [-b ADDRESS] [--workers N] [--poll-ms MS]");
                return;
            }
            default -> {
                System.err.println("NioServer: unknown option '" + args[i] + "'");
                System.exit(2);
            }
            }
        }
        Worker[] pool = new Worker[workers];
        for (int i = 0; i < workers; i++)
            (pool[i] = new Worker(pollMs)).start();
        Selector boss = Selector.open();
        ServerSocketChannel ssc = ServerSocketChannel.open();
        ssc.bind(new InetSocketAddress(host, port), 4096);
        ssc.configureBlocking(false);
        ssc.register(boss, SelectionKey.OP_ACCEPT);
        int bound = ((InetSocketAddress) ssc.getLocalAddress()).getPort();
        System.out.println("listening on " + host + ":" + bound);
        System.out.flush();
        Stopper stop = new Stopper(boss);

        // excerpt:begin boss
        long accepted = 0;
        while (!stop.requested()) {
            boss.select(pollMs);
            selections.incrementAndGet();
            boss.selectedKeys().clear();
            for (SocketChannel ch; (ch = ssc.accept()) != null;)
                pool[(int) (accepted++ % workers)].adopt(ch); // in turn
        }
        // excerpt:end boss
        stopping = true;
        for (Worker w : pool) {
            w.selector.wakeup();
            w.join();
        }
        ssc.close();
        boss.close();
        System.out.println("stopped after " + accepted + " connections, "
                           + selections.get() + " selections");
        stop.done();
    }
}
