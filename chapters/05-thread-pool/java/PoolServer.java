// PoolServer.java - the article's thread-pool server, written for this
// course in Java so that it can run beside chapter 5's pool-server: the
// main thread's Selector only accepts, and each accepted channel goes to a
// fixed thread pool, where a ServerRunnable serves it with a Selector of
// its own until it closes (chapter 4's protocol, WebServer.serve).
//
// One thread per connection for the connection's whole life: with N
// threads, client N+1 waits in the pool's queue until one of the first N
// leaves. That is the fault chapter 5 shows, and it is kept here.
//
// With --seed-accept the task accepts, as the article's comment suggests:
// the main loop selects again before the task has run, sees the listener
// still ready, and hands out more tasks for the same connection.
//
// Built on chapter 4's WebServer.java (the Session and serve, the Stopper).
// Run: build/java/bin/PoolServer -p 8000 --threads 100 [--queue 100] [--seed-accept]
// (make java-5 builds it; Ctrl-C or SIGTERM stops a server)
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Iterator;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

public class PoolServer {
    static final AtomicLong connections = new AtomicLong();
    static final AtomicLong tasks = new AtomicLong();
    static final AtomicLong empty = new AtomicLong();

    // excerpt:begin runnable
    // One connection, one thread, one Selector, until the connection ends.
    static final class ServerRunnable implements Runnable {
        private final ServerSocketChannel listener; // --seed-accept only
        private SocketChannel channel;

        ServerRunnable(SocketChannel channel, ServerSocketChannel listener) {
            this.channel = channel;
            this.listener = listener;
        }

        @Override
        public void run() {
            try (Selector selector = Selector.open()) {
                if (channel == null && (channel = listener.accept()) == null) {
                    empty.incrementAndGet(); // another task took it
                    return;
                }
                if (listener != null)
                    connections.incrementAndGet();
                channel.configureBlocking(false);
                channel.register(selector, SelectionKey.OP_READ,
                                 new WebServer.Session());
                while (channel.isOpen() && !Thread.interrupted()) {
                    selector.select();
                    for (SelectionKey key : selector.selectedKeys())
                        WebServer.serve(key);
                    selector.selectedKeys().clear();
                }
            } catch (IOException e) {
                // this connection only
            } finally {
                close(channel);
            }
        }
    }
    // excerpt:end runnable

    static void close(SocketChannel ch) {
        try {
            if (ch != null)
                ch.close();
        } catch (IOException e) {
            // nothing left to do
        }
    }

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 8000, threads = 100, queue = 100;
        boolean seedAccept = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
            case "-p", "--port" -> port = Integer.parseInt(args[++i]);
            case "-b", "--bind" -> host = args[++i];
            case "--threads" -> threads = Integer.parseInt(args[++i]);
            case "--queue" -> queue = Integer.parseInt(args[++i]);
            case "--seed-accept" -> seedAccept = true;
            case "-h", "--help" -> {
                System.out.println("usage: java PoolServer [-p PORT] [-b ADDRESS] [--threads N] [--queue N] [--seed-accept]");
                return;
            }
            default -> {
                System.err.println("PoolServer: unknown option '" + args[i] + "'");
                System.exit(2);
            }
            }
        }
        // excerpt:begin pool
        // Executors.newFixedThreadPool, with a bounded queue: when it is
        // full the accept loop waits for a thread instead of queueing
        // without end.
        ThreadPoolExecutor pool = new ThreadPoolExecutor(
            threads, threads, 0, TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(queue), (task, executor) -> {
                try {
                    executor.getQueue().put(task);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        // excerpt:end pool
        Selector selector = Selector.open();
        ServerSocketChannel ssc = ServerSocketChannel.open();
        ssc.bind(new InetSocketAddress(host, port), 1024);
        ssc.configureBlocking(false);
        ssc.register(selector, SelectionKey.OP_ACCEPT);
        int bound = ((InetSocketAddress) ssc.getLocalAddress()).getPort();
        System.out.println("listening on " + host + ":" + bound);
        System.out.flush();
        Stopper stop = new Stopper(selector);

        // excerpt:begin accept
        while (!stop.requested()) {
            selector.select();
            Iterator<SelectionKey> it = selector.selectedKeys().iterator();
            while (it.hasNext()) {
                it.next();
                it.remove();
                tasks.incrementAndGet();
                if (seedAccept) { // the task will accept: too late
                    pool.execute(new ServerRunnable(null, ssc));
                    continue;
                }
                SocketChannel ch = ssc.accept(); // accepted here, handed over
                if (ch != null) {
                    connections.incrementAndGet();
                    pool.execute(new ServerRunnable(ch, null));
                }
            }
        }
        // excerpt:end accept
        long closed = pool.shutdownNow().size(); // queued, never served
        pool.awaitTermination(5, TimeUnit.SECONDS);
        ssc.close();
        selector.close();
        System.out.println("stopped after " + connections.get()
                           + " connections, " + closed + " waiting closed"
                           + (seedAccept ? "; " + tasks.get() + " tasks handed out, "
                              + empty.get() + " found nothing to accept" : ""));
        stop.done();
    }
}
