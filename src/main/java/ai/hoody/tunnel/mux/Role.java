package ai.hoody.tunnel.mux;

/** Which end of a connection this is: the few things that differ between the kit and the driver. */
public enum Role {
    /** Opens streams (odd ids) for the connections it accepts; refuses an OPEN from the peer. */
    KIT,
    /** Accepts the kit's OPENs; never opens a stream itself in this version. */
    DRIVER
}
