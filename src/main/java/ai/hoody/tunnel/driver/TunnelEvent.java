package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.protocol.BindErrorCode;
import ai.hoody.tunnel.protocol.GoAwayCode;

import java.net.URI;

/**
 * Something that happened to a {@link Tunnel} or one of its {@link Binding}s, told to {@link TunnelListener}s in the
 * order it happened. The CLI prints each (but {@link Warning} and {@link Closed}) as one line or one JSON object named
 * by {@link #name()}: README "Driver CLI" lists them.
 */
public sealed interface TunnelEvent {

    /** The event's name in the CLI's {@code --json} output, e.g. {@code bind_ok}. */
    String name();

    /** The event concerns this binding only; null for events of the whole tunnel. */
    default Binding binding() {
        return null;
    }

    /** A new session: the kit answered HELLO with a session it just created. Every binding is asked for again. */
    record Connected(String sessionId, URI kit, int maxStreams) implements TunnelEvent {
        @Override
        public String name() {
            return "connected";
        }
    }

    /**
     * The kit granted a binding (BIND_OK), at first or again on a new session.
     *
     * @param port the container port the kit listens on (for a pull asked with port 0, the one it picked)
     * @param host for a pull, the container loopback address; null for an expose
     * @param publicUrl where visitors reach an exposed port, when the kit knows it; else null
     */
    record Bound(Binding binding, String sessionId, int bindId, int port, String host, String publicUrl) implements TunnelEvent {
        @Override
        public String name() {
            return "bind_ok";
        }
    }

    /** The kit refused a BIND (BIND_ERR): the binding is not held, and is not asked for again. */
    record BindRefused(Binding binding, BindErrorCode code, String message) implements TunnelEvent {
        @Override
        public String name() {
            return "bind_err";
        }
    }

    /**
     * The kit took a binding back (BIND_REVOKED). {@code reason}: {@code TAKEOVER} (another session took the port; asked
     * for again only on a new session), {@code PARKED} (a pull freed while the driver was away; asked for again at
     * once), {@code UNBOUND} (the answer to {@link Binding#close()}).
     *
     * @param binding the binding, or null when the driver held none with this id
     */
    record Revoked(Binding binding, int bindId, String reason) implements TunnelEvent {
        @Override
        public String name() {
            return "bind_revoked";
        }
    }

    /** The kit is ending the session (GOAWAY). After {@code ADMIN_KILL} the tunnel closes; otherwise it reconnects. */
    record GoAway(GoAwayCode code, String message) implements TunnelEvent {
        @Override
        public String name() {
            return "goaway";
        }
    }

    /** The WebSocket to the kit is gone; unless the tunnel is closing, {@link Reconnecting} follows. */
    record Disconnected(String reason) implements TunnelEvent {
        @Override
        public String name() {
            return "disconnected";
        }
    }

    /** The next attempt to reach the kit starts in {@code delayMs} (attempt 1, 2, … since the last session opened). */
    record Reconnecting(int attempt, long delayMs) implements TunnelEvent {
        @Override
        public String name() {
            return "reconnecting";
        }
    }

    /** A reconnect found the session still there: same session, same ports, nothing asked for again. */
    record Resumed(String sessionId) implements TunnelEvent {
        @Override
        public String name() {
            return "resumed";
        }
    }

    /** An attempt failed: the kit could not be reached, did not open a session, or did not answer a BIND. */
    record Error(String message) implements TunnelEvent {
        @Override
        public String name() {
            return "error";
        }
    }

    /**
     * Not an event of the session, but worth telling: a laptop target refused a connection, an in-process handler
     * failed, the kit broke the protocol. The CLI prints it on stderr.
     *
     * @param cause the exception behind it, or null
     */
    record Warning(String message, Throwable cause) implements TunnelEvent {
        @Override
        public String name() {
            return "warning";
        }
    }

    /** The tunnel is over and will not reconnect; the last event. */
    record Closed(Why why, String detail) implements TunnelEvent {
        @Override
        public String name() {
            return "closed";
        }
    }

    /** Why a tunnel ended. */
    enum Why {
        /** {@link Tunnel#close()} (a GOAWAY was sent). */
        CLOSED,
        /** An operator killed the session (GOAWAY {@code ADMIN_KILL}): reconnecting would only be killed again. */
        KILLED,
        /** The kit could not be reached, or did not open a session, when the tunnel was opened. */
        UNREACHABLE,
        /** The {@link ReconnectPolicy} gave up. */
        GAVE_UP
    }

    /**
     * A {@code hoody-tunnel.v2} shard socket joined the session (JOIN_OK): new streams may be put on it.
     *
     * @param rejoined true when shard {@code index} of this session had joined before and was lost (or the session
     *                 resumed): {@code shard_rejoined}; false for its first join: {@code shard_joined}
     */
    record ShardJoined(String sessionId, int index, boolean rejoined) implements TunnelEvent {
        @Override
        public String name() {
            return rejoined ? "shard_rejoined" : "shard_joined";
        }
    }

    /**
     * A {@code hoody-tunnel.v2} secondary shard socket dropped or was refused: its streams were closed on both ends,
     * the session goes on; the driver joins it again after {@code retryInMs} (-1: it will not, see {@code reason}).
     */
    record ShardLost(int index, String reason, long retryInMs) implements TunnelEvent {
        @Override
        public String name() {
            return "shard_lost";
        }
    }
}
