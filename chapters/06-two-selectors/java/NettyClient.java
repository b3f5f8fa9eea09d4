// NettyClient.java - the article's NettyClient, written for this course
// against Netty 4.1 (Debian's libnetty-java), so that it can run beside
// chapter 6's netty-client: a Bootstrap with one event loop, a pipeline
// with a LineEncoder, and "<date>: hello world!" every --interval-ms.
//
// The article writes from its main thread and sleeps; Netty hands such a
// write to the channel's event loop as a task. Here the loop's own
// scheduler does the writing, as netty-client's timer does. LineEncoder
// ends each message with '\n' (the article's StringEncoder sends none).
//
// Run: build/java/bin/NettyClient -p 8000 -n 3
// (make java-6 builds it)
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.string.LineEncoder;
import io.netty.handler.codec.string.LineSeparator;
import java.util.Date;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

public class NettyClient {
    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 8000;
        long interval = 2000, count = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
            case "-H", "--host" -> host = args[++i];
            case "-p", "--port" -> port = Integer.parseInt(args[++i]);
            case "-i", "--interval-ms" -> interval = Long.parseLong(args[++i]);
            case "-n", "--count" -> count = Long.parseLong(args[++i]);
            case "-h", "--help" -> {
                System.out.println("usage: java NettyClient [-H HOST] [-p PORT] [-i MS] [-n COUNT]");
                return;
            }
            default -> {
                System.err.println("NettyClient: unknown option '" + args[i] + "'");
                System.exit(2);
            }
            }
        }
        EventLoopGroup group = new NioEventLoopGroup(1);
        AtomicLong sent = new AtomicLong();
        final long limit = count;
        int status = 0;
        try {
            // excerpt:begin connect
            ChannelFuture connected = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new LineEncoder(LineSeparator.UNIX));
                    }
                })
                .connect(host, port).await();
            if (!connected.isSuccess())
                throw new Exception("connect: " + connected.cause().getMessage());
            Channel channel = connected.channel();
            ScheduledFuture<?>[] timer = new ScheduledFuture<?>[1];
            timer[0] = channel.eventLoop().scheduleAtFixedRate(() -> {
                channel.writeAndFlush(new Date() + ": hello world!");
                if (sent.incrementAndGet() == limit) {
                    timer[0].cancel(false);
                    channel.close(); // after the write, on the same loop
                }
            }, 0, interval, TimeUnit.MILLISECONDS);
            channel.closeFuture().sync();
            // excerpt:end connect
            if (limit == 0 || sent.get() < limit)
                throw new Exception("the server closed the connection");
        } catch (Exception e) {
            System.err.println("NettyClient: " + e.getMessage());
            status = 1;
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
        System.out.println("sent " + sent.get() + " messages to " + host + ":" + port);
        System.exit(status);
    }
}
