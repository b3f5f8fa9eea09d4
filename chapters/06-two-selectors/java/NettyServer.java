// NettyServer.java - the article's NettyServer, written for this course
// against Netty 4.1 (Debian's libnetty-java), so that it can run beside
// chapter 6's netty-server: a boss group, a worker group, and per
// connection a LineBasedFrameDecoder, a StringDecoder and a handler that
// prints each line with its peer, in netty-server's format.
//
// The article's pipeline has no frame decoder: two messages that arrive
// together print as one. The line decoder here is the fix the C program
// makes too.
//
// Run: build/java/bin/NettyServer -p 8000
// (make java-6 builds it; Ctrl-C or SIGTERM stops a server)
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.string.StringDecoder;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

public class NettyServer {
    static final AtomicLong lines = new AtomicLong();

    static String peer(ChannelHandlerContext ctx) {
        InetSocketAddress a = (InetSocketAddress) ctx.channel().remoteAddress();
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    // excerpt:begin printer
    static final class Printer extends SimpleChannelInboundHandler<String> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, String msg) {
            System.out.println("[" + peer(ctx) + "] " + msg);
            lines.incrementAndGet();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable e) {
            System.out.println("[" + peer(ctx) + "] closed: " + e.getMessage());
            ctx.close();
        }
    }
    // excerpt:end printer

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 8000, maxLine = 4096;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
            case "-p", "--port" -> port = Integer.parseInt(args[++i]);
            case "-b", "--bind" -> host = args[++i];
            case "--max-line" -> maxLine = Integer.parseInt(args[++i]);
            case "-h", "--help" -> {
                System.out.println("usage: java NettyServer [-p PORT] [-b ADDRESS] [--max-line BYTES]");
                return;
            }
            default -> {
                System.err.println("NettyServer: unknown option '" + args[i] + "'");
                System.exit(2);
            }
            }
        }
        final int max = maxLine;
        // excerpt:begin bootstrap
        EventLoopGroup boss = new NioEventLoopGroup(1);
        EventLoopGroup worker = new NioEventLoopGroup();
        Channel listener = new ServerBootstrap()
            .group(boss, worker)
            .channel(NioServerSocketChannel.class)
            .childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast(new LineBasedFrameDecoder(max));
                    ch.pipeline().addLast(new StringDecoder());
                    ch.pipeline().addLast(new Printer());
                }
            })
            .bind(host, port).sync().channel();
        // excerpt:end bootstrap
        int bound = ((InetSocketAddress) listener.localAddress()).getPort();
        System.out.println("listening on " + host + ":" + bound);
        System.out.flush();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            listener.close().syncUninterruptibly();
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            worker.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            System.out.println("stopped after " + lines.get() + " lines");
            System.out.flush();
            Runtime.getRuntime().halt(0); // a requested stop is a success
        }));
        listener.closeFuture().sync();
    }
}
