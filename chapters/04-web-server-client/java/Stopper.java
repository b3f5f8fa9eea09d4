// Stopper.java - how the course's Java servers stop: SIGINT or SIGTERM
// runs the JVM's shutdown hooks; this one wakes the server's Selector, waits
// for the loop to close everything, and ends the JVM with status 0, as the
// C servers do (the JVM's own default after SIGTERM is 143).
import java.nio.channels.Selector;

public final class Stopper {
    private volatile boolean requested;
    private final java.util.concurrent.CountDownLatch finished =
        new java.util.concurrent.CountDownLatch(1);

    Stopper(Selector selector) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            requested = true;
            selector.wakeup();
            try {
                finished.await(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            System.out.flush();
            Runtime.getRuntime().halt(0); // a requested stop is a success
        }));
    }

    boolean requested() {
        return requested;
    }

    void done() {
        finished.countDown();
    }
}
