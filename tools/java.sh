#!/bin/sh
# java.sh - the course's own Java programs, beside the C chapters.
#
#   java.sh check N   says whether chapter N's Java can be built here
#                     (exit 0), or why not and how to fix it (exit 1)
#   java.sh build N   compiles chapter N's Java (and the chapters below it
#                     that it uses) into $NIO_BUILD/java/NN-name/ and
#                     writes a launcher per program in $NIO_BUILD/java/bin/
#   java.sh run N     builds, then runs chapter N's Java programs against
#                     the C clients (and the C servers against the Java
#                     clients): a bounded, scripted run, like make chapter-N
#
# NIO_BUILD names the build folder (NIO_BIN, its bin/, holds the C
# programs). Chapters with Java: 4 (WebServer, WebClient), 5 (PoolServer),
# 6 (NioServer; NettyServer and NettyClient need Debian's libnetty-java).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build=${NIO_BUILD:?NIO_BUILD must name the build folder}
netty_dir=${NETTY_JARS:-/usr/share/java}
netty_cp=""
for jar in common buffer transport codec resolver handler; do
    netty_cp="$netty_cp${netty_cp:+:}$netty_dir/netty-$jar.jar"
done

usage() {
    echo "usage: java.sh check|build|run N   (N = 4, 5 or 6)" >&2
    exit 2
}

[ $# -eq 2 ] || usage
action=$1
chapter=$2
case $chapter in
4 | 5 | 6) ;;
*)
    echo "chapter $chapter has no Java programs (chapters 4, 5 and 6 do)" >&2
    exit 2
    ;;
esac

have_jdk() {
    command -v javac >/dev/null 2>&1 && command -v java >/dev/null 2>&1
}

have_netty() {
    for jar in $(echo "$netty_cp" | tr ':' ' '); do
        [ -f "$jar" ] || return 1
    done
}

check() {
    if ! have_jdk; then
        echo "no JDK (javac and java): install one with" \
            "'sudo apt-get install default-jdk-headless' (Debian, Ubuntu)"
        return 1
    fi
    if [ "$1" = netty ] && ! have_netty; then
        echo "no Netty jars in $netty_dir: install them with" \
            "'sudo apt-get install libnetty-java' (Debian, Ubuntu)"
        return 1
    fi
}

# launcher CLASS CLASSPATH: $build/java/bin/CLASS runs it (exec: the PID
# is the JVM's, so a test stops the program it started).
launcher() {
    mkdir -p "$build/java/bin"
    printf '#!/bin/sh\nexec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp %s %s "$@"\n' \
        "$2" "$1" >"$build/java/bin/$1"
    chmod +x "$build/java/bin/$1"
}

# compile FOLDER CLASSPATH FILES...: into $build/java/FOLDER, quietly.
compile() {
    out="$build/java/$1"
    cp=$2
    shift 2
    mkdir -p "$out"
    javac -Xlint:all -Werror -d "$out" -cp "$out${cp:+:$cp}" "$@"
}

build_chapter() {
    j4="$build/java/04-web-server-client"
    compile 04-web-server-client "" "$here"/chapters/04-web-server-client/java/*.java
    launcher WebServer "$j4"
    launcher WebClient "$j4"
    [ "$1" -ge 5 ] || return 0
    compile 05-thread-pool "$j4" "$here"/chapters/05-thread-pool/java/*.java
    launcher PoolServer "$build/java/05-thread-pool:$j4"
    [ "$1" -ge 6 ] || return 0
    j6="$build/java/06-two-selectors"
    compile 06-two-selectors "$j4" "$here"/chapters/06-two-selectors/java/NioServer.java
    launcher NioServer "$j6:$j4"
    if have_netty; then
        compile 06-two-selectors "$netty_cp" \
            "$here"/chapters/06-two-selectors/java/NettyServer.java \
            "$here"/chapters/06-two-selectors/java/NettyClient.java
        launcher NettyServer "$j6:$netty_cp"
        launcher NettyClient "$j6:$netty_cp"
    fi
}

case $action in
check)
    if [ "$chapter" = 6 ]; then check netty; else check jdk; fi
    exit $?
    ;;
build)
    check jdk >&2 || exit 1
    build_chapter "$chapter"
    exit 0
    ;;
run) ;;
*) usage ;;
esac

# --- run: a scripted run, like make chapter-N ------------------------------

if ! reason=$(check jdk); then
    echo "make java-$chapter: $reason" >&2
    exit 1
fi
echo "building chapter $chapter's Java into $build/java/ ..." >&2
build_chapter "$chapter"
NIO_BIN=${NIO_BIN:-$build/bin}
export NIO_BIN
# shellcheck source=tools/demo-lib.sh
. "$here/tools/demo-lib.sh"
jbin="$build/java/bin"

# jstart CLASS ARGS...: start_server for a Java program.
jstart() {
    jclass=$1
    shift
    start_server "../java/bin/$jclass" "$@"
}

case $chapter in
4)
    echo "java WebServer: the article's WebServer, one thread, one Selector."
    jstart WebServer
    show_client web-client -n 3
    echo "\$ java WebClient -n 3"
    "$jbin/WebClient" -p "$port" -n 3
    echo
    stop_server_and_show
    echo
    echo "java WebServer --seed: the article's shared buffers, no framing."
    jstart WebServer --seed
    show_client web-client --no-framing -n 2 -t 2
    stop_server_and_show
    ;;
5)
    echo "java PoolServer --threads 2: the third client waits for a thread."
    jstart PoolServer --threads 2
    show_client script-client 'open 1' 'send 1 hello' 'expect 1' \
        'open 2' 'send 2 hello' 'expect 2' \
        'open 3' 'send 3 hello' 'quiet 3 500' \
        'close 1' 'expect 3' 'close 2' 'close 3'
    stop_server_and_show
    ;;
6)
    echo "java NioServer --workers 2: a boss Selector, two worker Selectors."
    jstart NioServer --workers 2
    show_client ladder-load -c 10 -n 3
    stop_server_and_show
    echo
    if ! reason=$(check netty); then
        echo "(the Netty pair is skipped: $reason)"
        exit 0
    fi
    echo "java NettyServer (Netty 4.1), the C netty-client and the Java"
    echo "NettyClient writing to it:"
    jstart NettyServer
    "$bin/netty-client" -p "$port" -i 100 -n 2
    "$jbin/NettyClient" -p "$port" -i 100 -n 2
    wait_for "$work/server.out" 'hello world!$' "$server_pid" 4
    stop_server_and_show
    ;;
esac
