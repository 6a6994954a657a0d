package ai.hoody.tunnel.protocol;

/** Why a session ends: the {@code code} of a GOAWAY (docs/PROTOCOL.md §3.7). */
public enum GoAwayCode {
    /** The kit is shutting down. */
    SHUTDOWN,
    /** An operator killed the session through the admin API. */
    ADMIN_KILL,
    /** The peer stopped answering heartbeats. */
    IDLE_TIMEOUT,
    /** The peer broke the protocol. */
    PROTOCOL_ERROR,
    /** The driver is leaving on purpose (Ctrl-C). */
    NORMAL
}
