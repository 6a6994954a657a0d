package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.mux.FrameWriter;
import ai.hoody.tunnel.mux.MemoryBudget;
import ai.hoody.tunnel.mux.MuxListener;
import ai.hoody.tunnel.mux.MuxStream;
import ai.hoody.tunnel.mux.TunnelConnection;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.GoAwayCode;
import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.protocol.ResetCode;
import ai.hoody.tunnel.protocol.Version;

import javax.net.ssl.SSLSocketFactory;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The engine behind a {@link Tunnel}: the laptop end of a session, for as long as the user wants it. Connects, says
 * HELLO, asks for its bindings, serves the kit's OPENs, and when the socket drops reconnects as its
 * {@link ReconnectPolicy} says, resuming the session when the kit still has it. Policy only: the socket's mechanics —
 * writer, streams, PING/PONG — are the {@link TunnelConnection}'s, the same class the kit uses.
 *
 * <p>Bindings come and go while it runs ({@link #add}, {@link #unbind}). A binding counts as held only once its
 * BIND_OK has arrived; every BIND not answered on a socket that dropped is sent again after the resume (the kit answers
 * a repeated BIND with the binding it already granted). A new session asks for every binding again; a refused one is
 * dropped, a taken-over one waits for the next new session.
 *
 * <p>Threading: {@link #run} blocks its thread for the session's life. Each socket is a {@link Link}, whose thread (the
 * one in {@code run}) says HELLO and sends the BINDs one at a time; the socket's messages arrive on the client's reader
 * thread and are handled without blocking; a watchdog virtual thread per link sends PINGs and drops a link that has
 * gone silent; each stream is served by its binding's {@link StreamTarget} on its own virtual thread. Events go to the
 * listener from the reader (connected, resumed, bind_revoked, goaway) and from the run thread (the rest), in order.
 *
 * <p>With {@code shards > 1} ({@link TunnelOptions#shards}) the link's socket is a {@code hoody-tunnel.v2} primary,
 * and once HELLO_OK grants shards each secondary is a {@link Link.Shard} on its own virtual thread: JOIN, serve the
 * kit's OPENs on it, and when it drops (its streams end with it) join again with backoff — for as long as the primary
 * lives. The primary's end ends the secondaries; a resumed session joins them again (docs/PROTOCOL.md §12).
 */
public final class DriverSession {

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** Streams the driver serves at once, at most (HELLO.maxStreams); the kit's OPENs beyond it are reset. */
    static final int MAX_STREAMS = 16384;
    /**
     * What each stream lets the kit have in flight towards the laptop (PROTOCOL.md §5: granted with a WINDOW after
     * OPEN_OK). Larger than the kit's 256 KiB default because it is the laptop's memory, not the container's, and a
     * 1 MiB window carried ~15% more through PULL in bench/lib/ab.py.
     */
    static final int RECEIVE_WINDOW = 1 << 20;
    /**
     * The largest HELLO_OK.streamWindow this driver accepts: it is the credit the kit may use towards the laptop
     * without asking, per stream. A kit announcing more is refused (close 1002), never trusted.
     */
    static final int MAX_ACCEPTED_WINDOW = 16 << 20;
    /** PING at most this often and at least this rarely, whatever HELLO_OK.heartbeatIntervalMs says. */
    static final long MIN_PING_MILLIS = 50;
    static final long MAX_PING_MILLIS = 30_000;
    /** When HELLO_OK.heartbeatIntervalMs is 0 (the kit does not PING). */
    static final long DEFAULT_PING_MILLIS = 20_000;
    /** How long a connection this driver closed may take to finish its closing handshake (its own deadline is 5 s). */
    private static final long CLOSE_WAIT_MILLIS = 6_000;
    /** After its GOAWAY the driver waits this long for the kit's close, then closes; as long again, then cuts. */
    static final long LEAVE_WAIT_MILLIS = 2_000;
    /** Silence of this many heartbeat intervals means the kit or the path to it is gone. */
    private static final int SILENT_INTERVALS = 3;
    /** How long {@link #unbind} waits for the kit's BIND_REVOKED {@code UNBOUND}. */
    static final long UNBIND_TIMEOUT_MILLIS = 10_000;

    /** How one socket's life ended, and so what the driver does next. */
    private enum Outcome { STOPPED, LOST, CONNECT_FAILED, KILLED }

    /** How to reach the kit and when to give up: from {@link TunnelOptions}. */
    record Settings(ProxySettings proxy, ReconnectPolicy reconnect, SSLSocketFactory tls, String token, int shards) {
        @Override
        public String toString() {
            return "Settings[proxy " + proxy + ", " + reconnect + ", token " + (token == null ? "none" : "***")
                    + ", shards " + shards + "]";
        }
    }

    /** A lost v2 shard is joined again after 100 ms, doubling per failed attempt up to this. */
    static final long MAX_SHARD_RETRY_MILLIS = 5_000;

    private final URI kit;
    private final Settings settings;
    private final TunnelListener events;
    /** Every binding asked for and not closed or refused, in the order asked: a new session binds them in this order. */
    private final List<Binding> bindings = new CopyOnWriteArrayList<>();
    /** Bindings by BIND ref, until they are final (refused, or released after close). */
    private final Map<String, Binding> byRef = new ConcurrentHashMap<>();
    private final Map<Integer, Binding> byBindId = new ConcurrentHashMap<>();
    /** Stream bytes the driver holds for laptop services that have not read them yet: half the heap. */
    private final MemoryBudget memory = new MemoryBudget(Runtime.getRuntime().maxMemory() / 2);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final CompletableFuture<String> firstSession = new CompletableFuture<>();
    private volatile boolean stopping;
    private volatile Link link;
    private volatile String sessionId;
    private volatile String resumeToken;
    /** v2: the shard indexes that have joined this session at least once (a later join is a re-join). */
    private final java.util.Set<Integer> shardsJoined = ConcurrentHashMap.newKeySet();

    DriverSession(URI kit, Settings settings, TunnelListener events) {
        this.kit = kit;
        this.settings = settings;
        this.events = events;
    }

    /**
     * Runs until stopped, killed by an operator, unable to reach the kit the first time, or given up by the reconnect
     * policy; tells every binding and the listener ({@link TunnelEvent.Closed}, the last event) before returning.
     */
    TunnelEvent.Closed run() {
        try {
            return loop();
        } catch (InterruptedException e) {
            Link l = link;
            if (l != null) {
                l.leave(GoAwayCode.NORMAL);
            }
            Thread.currentThread().interrupt();
            return closed(TunnelEvent.Why.CLOSED, "interrupted");
        }
    }

    private TunnelEvent.Closed loop() throws InterruptedException {
        int attempt = 0;
        boolean everConnected = false;
        while (!stopping) {
            Link l = new Link();
            link = l;
            Outcome outcome = l.run();
            if (l.sessionOpened) {
                everConnected = true;
                attempt = 0;
            }
            switch (outcome) {
                case STOPPED:
                    return closed(TunnelEvent.Why.CLOSED, "closed");
                case KILLED:
                    return closed(TunnelEvent.Why.KILLED, l.closeReason);
                case CONNECT_FAILED:
                    if (!everConnected) {
                        return closed(TunnelEvent.Why.UNREACHABLE, l.failure);
                    }
                    break;
                case LOST:
                    break;
            }
            if (stopping) {
                return closed(TunnelEvent.Why.CLOSED, "closed");
            }
            long delay = settings.reconnect().delayMillis(++attempt);
            if (delay < 0) {
                return closed(TunnelEvent.Why.GAVE_UP, "the reconnect policy gave up after " + (attempt - 1)
                        + " attempts; last: " + (l.failure != null ? l.failure : l.closeReason));
            }
            events.onEvent(new TunnelEvent.Reconnecting(attempt, delay));
            if (stopped.await(delay, TimeUnit.MILLISECONDS)) {
                return closed(TunnelEvent.Why.CLOSED, "closed");
            }
        }
        return closed(TunnelEvent.Why.CLOSED, "closed");
    }

    private TunnelEvent.Closed closed(TunnelEvent.Why why, String detail) {
        firstSession.completeExceptionally(new TunnelException(detail));
        for (Binding b : byRef.values()) {
            b.tunnelEnded(detail);
        }
        bindings.clear();
        byRef.clear();
        byBindId.clear();
        TunnelEvent.Closed end = new TunnelEvent.Closed(why, detail);
        events.onEvent(end);
        return end;
    }

    /**
     * PINGs {@code c} every {@code interval} ms until interrupted (then null) or until the kit has been silent on it for
     * {@link #SILENT_INTERVALS}: then returns why, and the caller cuts the socket. PINGs only queue on the writer, so a
     * stalled socket cannot stall this thread: noticing one is its job.
     */
    private static String heartbeat(TunnelConnection c, long interval) {
        long silentLimit = TimeUnit.MILLISECONDS.toNanos(interval * SILENT_INTERVALS);
        try {
            while (true) {
                Thread.sleep(interval);
                if (c.nanosSinceHeard(System.nanoTime()) > silentLimit) {
                    return "nothing heard from the kit for " + interval * SILENT_INTERVALS + " ms";
                }
                c.ping();
            }
        } catch (InterruptedException e) {
            return null; // the socket's life is over
        }
    }

    /** Before joining a lost shard again: 100 ms, doubling per failed attempt, at most {@link #MAX_SHARD_RETRY_MILLIS}. */
    static long shardRetryMillis(int attempt) {
        return Math.min(MAX_SHARD_RETRY_MILLIS, 100L << Math.min(attempt - 1, 10));
    }

    /** How often the driver PINGs, from what HELLO_OK announced, within the driver's own bounds. */
    static long pingMillis(long announced) {
        return announced == 0 ? DEFAULT_PING_MILLIS : Math.clamp(announced, MIN_PING_MILLIS, MAX_PING_MILLIS);
    }

    /** Completes with the session id of the first HELLO_OK, or fails with why the kit could not be reached. */
    CompletableFuture<String> firstSession() {
        return firstSession;
    }

    /** Leaves on purpose: GOAWAY, close, and wait briefly (≤ 2 s) for the kit's close. */
    public void stop(GoAwayCode code) {
        stopping = true;
        stopped.countDown();
        Link l = link;
        if (l != null) {
            l.leave(code);
        }
    }

    public String sessionId() {
        return sessionId;
    }

    /** Bytes of stream data the driver holds now (tests). */
    long bufferedBytes() {
        return memory.used();
    }

    // --- bindings, from the user's threads ---

    /** Asks for a binding: on the current socket at once, else when the next one opens a session. */
    void add(Binding b) {
        byRef.put(b.ref(), b);
        bindings.add(b);
        Link l = link;
        if (l != null && l.established) {
            l.toBind.add(new BindTask(b));
        }
        if (stopping) {
            b.tunnelEnded("the tunnel is closed");
        }
    }

    /**
     * Gives a binding back: UNBIND when the kit holds it (waiting up to {@link #UNBIND_TIMEOUT_MILLIS} for its
     * BIND_REVOKED), after the answer when its BIND is in flight, at the next resume when the socket is down.
     */
    void unbind(Binding b) throws InterruptedException {
        if (b.isClosed()) {
            return;
        }
        bindings.remove(b);
        int held = b.markClosed();
        Link l = link;
        boolean connected = l != null && l.established && !l.connection.isClosed();
        if (!connected) {
            if (held == 0) {
                byRef.remove(b.ref());
                b.released();
            } // else the kit holds it for the session: the next resume unbinds it, a new session forgets it
            return;
        }
        if (held != 0) {
            l.connection.send(new ControlMessage.Unbind(held));
        } else if (!l.bindAnswers.containsKey(b.ref())) {
            byRef.remove(b.ref()); // not asked for on this socket yet: nothing is held
            b.released();
            return;
        } // else its BIND is in flight: the BIND_OK sends the UNBIND, a BIND_ERR releases it
        if (!b.awaitReleased(UNBIND_TIMEOUT_MILLIS)) {
            events.onEvent(new TunnelEvent.Warning("no BIND_REVOKED for the UNBIND of " + b + " within "
                    + UNBIND_TIMEOUT_MILLIS + " ms", null));
        }
    }

    /** A new session: nothing is held. Closed bindings are done; the others are asked for again (unless refused). */
    private void forgetBindings() {
        byBindId.clear();
        for (Binding b : byRef.values()) {
            if (b.isClosed()) {
                byRef.remove(b.ref());
                b.released();
            }
        }
        bindings.forEach(Binding::forgotten);
    }

    /** A BIND to send on a link, or (binding null) the end of the link. */
    private record BindTask(Binding binding) {
    }

    /** One WebSocket to the kit, from connect to close. */
    private final class Link implements TunnelConnection.Handler {
        private static final BindTask CLOSED = new BindTask(null);

        private final CompletableFuture<ControlMessage.HelloOk> helloOk = new CompletableFuture<>();
        private final Map<String, CompletableFuture<ControlMessage>> bindAnswers = new ConcurrentHashMap<>();
        private final LinkedBlockingQueue<BindTask> toBind = new LinkedBlockingQueue<>();
        private final CountDownLatch closed = new CountDownLatch(1);
        private volatile TunnelConnection connection;
        private volatile MemoryBudget.Account account;
        private volatile String closeReason = "";
        /** Why the connect or the HELLO failed, for the tunnel's end. */
        private volatile String failure;
        private volatile GoAwayCode goAway;
        private volatile long pingMillis;
        /** HELLO_OK arrived: BINDs may be sent on this link. */
        private volatile boolean established;
        private boolean sessionOpened;
        /** v2: this link's secondary shards, started at HELLO_OK, stopped when the link ends. */
        private final List<Shard> shards = new CopyOnWriteArrayList<>();

        Outcome run() throws InterruptedException {
            WebSocketClient socket;
            try {
                socket = WebSocketClient.connect(kit, CONNECT_TIMEOUT, settings.tls(), settings.proxy().proxyFor(kit),
                        settings.shards() > 1 ? Protocol.SUBPROTOCOL_V2 : Protocol.SUBPROTOCOL_V1);
            } catch (IOException e) {
                failure = e.getMessage();
                events.onEvent(new TunnelEvent.Error(e.getMessage()));
                return Outcome.CONNECT_FAILED;
            }
            account = memory.open(() -> {
                TunnelConnection c = connection;
                return c == null || c.mux() == null ? null : c.mux().streams();
            });
            try {
                connection = TunnelConnection.driver("driver", socket, this, this::onOpen, account, MuxListener.NONE,
                        FrameWriter.Limits.DEFAULT);
                socket.start(new ConnectionReceiver(connection, events, ""), connection.writer());
                if (stopping) {
                    connection.abort("driver stopping");
                    return Outcome.STOPPED;
                }
                return serve();
            } finally {
                account.close();
            }
        }

        private Outcome serve() throws InterruptedException {
            ControlMessage.Resume resume = sessionId == null ? null : new ControlMessage.Resume(sessionId, resumeToken);
            boolean v2 = settings.shards() > 1;
            // early-data: the kit may send a visitor's first bytes before our OPEN_OK; the stream holds them within its
            // window until the target is connected (TargetConnection), and a failed connect's RESET drops them.
            connection.send(new ControlMessage.Hello(v2 ? Protocol.VERSION_V2 : Protocol.VERSION, "hoody-tunnel-driver",
                    Version.VERSION, MAX_STREAMS, resume, settings.token(), v2 ? settings.shards() : 0,
                    List.of(Protocol.FEATURE_EARLY_DATA)));
            ControlMessage.HelloOk ok;
            try {
                ok = helloOk.get(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                String why = e instanceof TimeoutException ? "no HELLO_OK within " + CONNECT_TIMEOUT.toSeconds() + " s" : e.getCause().getMessage();
                failure = "the kit did not open a session: " + why;
                events.onEvent(new TunnelEvent.Error(failure));
                if (e instanceof TimeoutException) {
                    connection.abort(why);
                } else if (!closed.await(CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                    // The socket closed, or we refused the HELLO_OK and our close frame (1002, with the reason) is on its
                    // way: cutting now could drop it before it is written. The close has its own deadline.
                    connection.abort(why);
                }
                return stopping ? Outcome.STOPPED : Outcome.CONNECT_FAILED;
            }
            sessionOpened = true;
            boolean resumed = ok.resumed() && ok.sessionId().equals(sessionId);
            sessionId = ok.sessionId();
            resumeToken = ok.resumeToken();
            if (!resumed) {
                forgetBindings();
                shardsJoined.clear();
            } else {
                // Closed while the socket was down: the kit still holds them for the session.
                byBindId.forEach((bindId, b) -> {
                    if (b.isClosed()) {
                        connection.send(new ControlMessage.Unbind(bindId));
                    }
                });
            }
            firstSession.complete(sessionId);
            // Every binding not held — all of them for a new session; after a resume, those whose BIND_OK was lost
            // with the old socket — is asked for again, in order. Bindings added from now on queue here themselves.
            established = true;
            for (Binding b : bindings) {
                if (b.wanted()) {
                    toBind.add(new BindTask(b));
                }
            }
            Thread watchdog = Thread.ofVirtual().name("driver-heartbeat").start(this::watch);
            for (int i = 1; i < ok.shards() && ok.joinToken() != null; i++) {
                Shard shard = new Shard(i, ok);
                shards.add(shard);
                shard.start();
            }
            try {
                while (true) {
                    BindTask task = toBind.take();
                    if (task == CLOSED) {
                        break;
                    }
                    if (!stopping && task.binding().wanted()) {
                        bind(task.binding());
                    }
                }
            } finally {
                watchdog.interrupt(); // the watchdog never touches the socket itself: interrupting it is safe
                shards.forEach(Shard::stop); // no primary, no session: its secondaries end with it
            }
            if (stopping) {
                return Outcome.STOPPED;
            }
            events.onEvent(new TunnelEvent.Disconnected(closeReason));
            return goAway == GoAwayCode.ADMIN_KILL ? Outcome.KILLED : Outcome.LOST;
        }

        /** Sends the BIND of {@code b} (its own ref, the same on every socket), waits for its answer and reports it. */
        private void bind(Binding b) throws InterruptedException {
            CompletableFuture<ControlMessage> answer = new CompletableFuture<>();
            bindAnswers.put(b.ref(), answer);
            connection.send(new ControlMessage.Bind(b.ref(), b.mode().kind, b.mode().mode, b.requestedPort(),
                    b.requestedHost(), b.takeover()));
            ControlMessage reply;
            try {
                reply = answer.get(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                return; // the socket closed: the loop ends with it, and the BIND is sent again on the next socket
            } catch (TimeoutException e) {
                events.onEvent(new TunnelEvent.Error("no answer to BIND within " + CONNECT_TIMEOUT.toSeconds() + " s"));
                connection.abort("no answer to BIND");
                return;
            }
            if (reply instanceof ControlMessage.BindErr err) {
                bindings.remove(b);
                byRef.remove(b.ref());
                events.onEvent(new TunnelEvent.BindRefused(b, err.code(), err.message()));
                b.refused(new BindRefusedException(err.code(), err.message(), b.requestedPort()));
                if (b.isClosed()) {
                    b.released();
                }
            } else if (reply instanceof ControlMessage.BindOk ok && !b.isClosed()) {
                events.onEvent(new TunnelEvent.Bound(b, sessionId, ok.bindId(), ok.port(), ok.host(), ok.publicUrl()));
                b.answered();
            }
        }

        /**
         * PINGs every interval; drops the socket when the kit has been silent for {@link #SILENT_INTERVALS}. PINGs
         * only queue on the writer, so a stalled socket cannot stall this thread: noticing one is its job.
         */
        private void watch() {
            String silent = heartbeat(connection, pingMillis);
            if (silent != null) {
                closeReason = silent;
                connection.abort(silent);
            }
        }

        void leave(GoAwayCode code) {
            TunnelConnection c = connection;
            if (c == null) {
                return;
            }
            toBind.add(CLOSED); // no BIND after the GOAWAY, even before the close arrives
            c.send(new ControlMessage.GoAway(code, "driver stopping"));
            try {
                // The kit ends the session on the GOAWAY and then closes the socket (PROTOCOL.md §3.7): waiting for that
                // close, rather than closing at once, means our ports are free when this returns. A close frame sent
                // right behind the GOAWAY would be answered by the kit's WebSocket layer before the GOAWAY is handled.
                if (!closed.await(LEAVE_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                    c.close(Protocol.CLOSE_NORMAL, "driver stopping");
                    if (!closed.await(LEAVE_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                        c.abort("driver stopping");
                    }
                }
            } catch (InterruptedException e) {
                c.abort("driver stopping");
                Thread.currentThread().interrupt();
            }
        }

        /**
         * One v2 secondary shard of this link's session, for as long as the link lives: join, serve, and after a drop
         * join again after {@link #shardRetryMillis}. A refusal with 1008 (the kit will never accept this JOIN: wrong
         * token, unknown session, index out of range) ends it. Threading: {@link #run} on its own virtual thread; the
         * socket's messages on its reader, as for the link.
         */
        final class Shard {
            private final int index;
            private final ControlMessage.HelloOk session;
            private volatile boolean stopped;
            private volatile Thread thread;
            private volatile ShardSocket current;

            Shard(int index, ControlMessage.HelloOk session) {
                this.index = index;
                this.session = session;
            }

            void start() {
                thread = Thread.ofVirtual().name("driver-shard-" + index).start(this::run);
            }

            /** The primary is gone or the driver stops: cut the socket, its streams end with it. */
            void stop() {
                stopped = true;
                Thread t = thread;
                if (t != null) {
                    t.interrupt();
                }
                ShardSocket s = current;
                if (s != null) {
                    s.connection.abort("the session's primary socket is gone");
                }
            }

            private void run() {
                int attempt = 0;
                while (!stopped && !stopping) {
                    ShardSocket s = new ShardSocket();
                    String lost;
                    try {
                        lost = s.serve();
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (s.joined) {
                        attempt = 0;
                    }
                    if (stopped || stopping) {
                        return;
                    }
                    if (!s.joined && s.receiver != null && s.receiver.closeCode() == Protocol.CLOSE_POLICY) {
                        // A refused JOIN (wrong token, unknown session, index out of range) will be refused again. A
                        // joined shard the kit cut later (it sends 1008 with any cut) is joined again like any other.
                        events.onEvent(new TunnelEvent.ShardLost(index, lost, -1));
                        return;
                    }
                    long delay = shardRetryMillis(++attempt);
                    events.onEvent(new TunnelEvent.ShardLost(index, lost, delay));
                    try {
                        Thread.sleep(delay);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }

            /** One socket of this shard, from connect to close. */
            private final class ShardSocket implements TunnelConnection.Handler {
                private final CompletableFuture<ControlMessage.JoinOk> joinOk = new CompletableFuture<>();
                private final CountDownLatch closed = new CountDownLatch(1);
                private volatile TunnelConnection connection;
                private volatile String closeReason = "";
                private volatile ConnectionReceiver receiver;
                private boolean joined;

                /** @return why the shard's socket ended (or could not join) */
                String serve() throws InterruptedException {
                    WebSocketClient socket;
                    try {
                        socket = WebSocketClient.connect(kit, CONNECT_TIMEOUT, settings.tls(), settings.proxy().proxyFor(kit),
                                Protocol.SUBPROTOCOL_V2);
                    } catch (IOException e) {
                        return e.getMessage();
                    }
                    MemoryBudget.Account shardAccount = memory.open(() -> {
                        TunnelConnection c = connection;
                        return c == null || c.mux() == null ? null : c.mux().streams();
                    });
                    try {
                        connection = TunnelConnection.driver("driver/" + index, socket, this, Link.this::onOpen, shardAccount,
                                MuxListener.NONE, FrameWriter.Limits.DEFAULT);
                        current = this;
                        receiver = new ConnectionReceiver(connection, events, " on shard " + index);
                        socket.start(receiver, connection.writer());
                        if (stopped) {
                            connection.abort("driver stopping");
                            return "stopped";
                        }
                        connection.send(new ControlMessage.Join(session.sessionId(), session.joinToken(), index));
                        try {
                            joinOk.get(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                        } catch (ExecutionException | TimeoutException e) {
                            String why = e instanceof TimeoutException ? "no JOIN_OK within " + CONNECT_TIMEOUT.toSeconds() + " s"
                                    : e.getCause().getMessage();
                            connection.abort(why);
                            return why;
                        }
                        joined = true;
                        boolean again = !shardsJoined.add(index);
                        events.onEvent(new TunnelEvent.ShardJoined(session.sessionId(), index, again));
                        Thread watchdog = Thread.ofVirtual().name("driver-shard-heartbeat-" + index).start(() -> {
                            String silent = heartbeat(connection, pingMillis);
                            if (silent != null) {
                                closeReason = silent;
                                connection.abort(silent);
                            }
                        });
                        try {
                            closed.await();
                        } finally {
                            watchdog.interrupt();
                        }
                        return closeReason;
                    } catch (InterruptedException e) {
                        connection.abort("driver stopping");
                        throw e;
                    } finally {
                        shardAccount.close();
                    }
                }

                @Override
                public void onControl(TunnelConnection from, ControlMessage m) {
                    if (m instanceof ControlMessage.JoinOk ok && !joinOk.isDone()) {
                        if (ok.shard() != index || !ok.sessionId().equals(session.sessionId())) {
                            from.fail("JOIN_OK for shard " + ok.shard() + " of " + ok.sessionId() + ", not " + index);
                            return;
                        }
                        from.establish(session.streamWindow(), Math.max(session.streamWindow(), RECEIVE_WINDOW), MAX_STREAMS);
                        joinOk.complete(ok);
                    } else {
                        from.fail("only JOIN_OK, PING and PONG travel on a secondary shard");
                    }
                }

                @Override
                public void onClosed(TunnelConnection from, String reason) {
                    if (closeReason.isEmpty()) {
                        closeReason = reason;
                    }
                    joinOk.completeExceptionally(new IOException("the kit closed the shard's socket: " + reason));
                    closed.countDown();
                }
            }
        }

        // --- TunnelConnection.Handler (on the reader) ---

        @Override
        public void onControl(TunnelConnection from, ControlMessage m) {
            switch (m) {
                case ControlMessage.HelloOk ok -> helloOk(from, ok);
                case ControlMessage.BindOk ok -> {
                    // Held from here, not from bind(): an OPEN may follow the BIND_OK before bind() wakes up.
                    Binding b = ok.ref() == null ? null : byRef.get(ok.ref());
                    if (b != null) {
                        byBindId.put(ok.bindId(), b);
                        if (!b.granted(ok.bindId(), ok.port(), ok.host(), ok.publicUrl())) {
                            from.send(new ControlMessage.Unbind(ok.bindId())); // closed while its BIND was in flight
                        }
                    }
                    complete(ok.ref(), ok);
                }
                case ControlMessage.BindErr err -> complete(err.ref(), err);
                case ControlMessage.BindRevoked r -> revoked(r);
                case ControlMessage.GoAway g -> {
                    goAway = g.code();
                    closeReason = "GOAWAY " + g.code() + (g.message() == null ? "" : ": " + g.message());
                    events.onEvent(new TunnelEvent.GoAway(g.code(), g.message()));
                    if (g.code() != GoAwayCode.ADMIN_KILL) {
                        sessionId = null; // the kit will not keep this session: the next link starts a new one
                    }
                }
                default -> {
                    // HELLO, BIND, UNBIND are never sent by a kit
                }
            }
        }

        private void revoked(ControlMessage.BindRevoked r) {
            Binding b = byBindId.remove(r.bindId());
            if (b != null) {
                b.revoked(r.reason());
            }
            events.onEvent(new TunnelEvent.Revoked(b, r.bindId(), r.reason()));
            if (b == null) {
                return;
            }
            if (b.isClosed()) {
                byRef.remove(b.ref());
                b.released();
            } else if ("PARKED".equals(r.reason())) {
                // Dropped while we were away (a PULL port is freed at once): ask for it again.
                toBind.add(new BindTask(b));
            }
        }

        /** HELLO_OK: checked against the driver's own bounds, then streams are accepted from here on. */
        private void helloOk(TunnelConnection from, ControlMessage.HelloOk ok) {
            if (helloOk.isDone()) {
                from.fail("HELLO_OK sent twice");
                return;
            }
            if (ok.streamWindow() > MAX_ACCEPTED_WINDOW) {
                String why = "HELLO_OK.streamWindow " + ok.streamWindow() + " is above the " + MAX_ACCEPTED_WINDOW
                        + " bytes this driver accepts per stream";
                from.fail(why);
                helloOk.completeExceptionally(new IOException(why));
                return;
            }
            pingMillis = pingMillis(ok.heartbeatIntervalMs());
            from.establish(ok.streamWindow(), Math.max(ok.streamWindow(), RECEIVE_WINDOW), MAX_STREAMS);
            // Told here, on the reader, so that it comes before what follows HELLO_OK on the wire
            // (the BIND_REVOKED of a resume): events are in the kit's order.
            if (ok.resumed() && ok.sessionId().equals(sessionId)) {
                events.onEvent(new TunnelEvent.Resumed(ok.sessionId()));
            } else {
                events.onEvent(new TunnelEvent.Connected(ok.sessionId(), kit, ok.maxStreams()));
            }
            helloOk.complete(ok);
        }

        private void complete(String ref, ControlMessage answer) {
            CompletableFuture<ControlMessage> f = ref == null ? null : bindAnswers.remove(ref);
            if (f != null) {
                f.complete(answer);
            }
        }

        @Override
        public void onProtocolError(TunnelConnection from, String reason) {
            events.onEvent(new TunnelEvent.Warning("protocol error from the kit: " + reason, null));
        }

        @Override
        public void onClosed(TunnelConnection from, String reason) {
            if (closeReason.isEmpty()) {
                closeReason = reason;
            }
            IOException gone = new IOException("the kit closed the socket: " + reason);
            helloOk.completeExceptionally(gone);
            bindAnswers.values().forEach(f -> f.completeExceptionally(gone));
            toBind.add(CLOSED);
            closed.countDown();
        }

        private void onOpen(MuxStream stream, int bindId, String origin) {
            Binding b = byBindId.get(bindId);
            if (b == null) {
                stream.reset(ResetCode.BIND_GONE, "this driver holds no binding " + bindId);
                return;
            }
            if (!b.targetPermits().tryAcquire()) {
                // The cap (TunnelOptions.maxTargetConnections): a flood of visitors cannot make the driver open
                // thousands of connections to a laptop service.
                stream.reset(ResetCode.CONNECT_FAILED, "the driver already has " + b.maxTargetConnections()
                        + " connections open to " + b.target());
                return;
            }
            StreamTarget target = b.streamTarget();
            Thread.ofVirtual().name("target-" + stream.id()).start(() -> {
                try {
                    target.serve(stream, origin, events);
                } finally {
                    b.targetPermits().release();
                }
            });
        }
    }
}
