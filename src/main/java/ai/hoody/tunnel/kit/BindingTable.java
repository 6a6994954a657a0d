package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.BindErrorCode;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.ControlMessage.Bind;
import ai.hoody.tunnel.protocol.ControlMessage.BindErr;
import ai.hoody.tunnel.protocol.ControlMessage.BindOk;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Which port is held by which binding, kit-wide: the one place that grants or refuses a BIND (docs/PROTOCOL.md
 * §3.4 lists the checks in the order they are made here).
 */
@ApplicationScoped
public class BindingTable {

    private static final Logger LOG = Logger.getLogger(BindingTable.class);
    private static final int BACKLOG = 1024;
    /** Stands in for a port while its listener is being opened, so two sessions cannot race for it. */
    private static final PortListener CLAIMED = null;

    private final KitConfig config;
    private final FdBudget fds;
    private final ConcurrentHashMap<Integer, Slot> byPort = new ConcurrentHashMap<>();
    private final AtomicInteger nextBindId = new AtomicInteger(1);

    /** A port's entry: empty while being claimed, then its listener. */
    private static final class Slot {
        volatile PortListener listener = CLAIMED;
    }

    BindingTable(KitConfig config, FdBudget fds) {
        this.config = config;
        this.fds = fds;
    }

    /**
     * Grants or refuses a BIND for {@code session}; runs on the session's control thread. A BIND_OK is sent from here,
     * at the moment the binding goes live (so that it precedes every OPEN for it) and returned for the record; a
     * BIND_ERR is only returned, for the caller to send.
     */
    ControlMessage bind(KitSession session, Bind req, KitContext kit) {
        BindMode mode = BindMode.of(req.kind(), req.mode());
        if (mode == null) {
            return err(req, BindErrorCode.INVALID_KIND, "kind '" + req.kind() + "' with mode '" + req.mode()
                    + "' is not supported; use kind 'http' with mode 'expose', or kind 'tcp' with mode 'pull'");
        }
        if (mode == BindMode.PULL && req.takeover()) {
            return err(req, BindErrorCode.INVALID_KIND, "takeover applies to expose bindings only");
        }
        InetAddress host;
        try {
            host = listenAddress(mode, req.host());
        } catch (IOException e) {
            return err(req, BindErrorCode.INVALID_HOST, e.getMessage());
        }
        int port = req.port();
        if (port != 0 && port < 80) {
            return err(req, BindErrorCode.PRIVILEGED_PORT, "port " + port + " is below 80, which the kit never binds");
        }
        boolean privilegedAllowed = mode == BindMode.EXPOSE ? config.allowPrivilegedExpose() : config.allowPrivilegedPull();
        if (port != 0 && port < 1024 && !privilegedAllowed) {
            return err(req, BindErrorCode.PRIVILEGED_PORT, "port " + port + " is privileged; start the kit with --allow-privileged-"
                    + mode.mode + " to allow 80..1023");
        }
        String outsideAllowList = PortPolicy.refusal(config, mode, port);
        if (outsideAllowList != null) {
            return err(req, BindErrorCode.RESERVED_PORT, outsideAllowList);
        }
        Set<Integer> reserved = ReservedPorts.current();
        if (reserved.contains(port)) {
            return err(req, BindErrorCode.RESERVED_PORT, "port " + port + " is one of the kit's own ports " + reserved);
        }
        ControlMessage again = repeated(session, req, mode, port);
        if (again != null) {
            return again;
        }
        int kitCap = Math.min(config.maxBindings(), Math.max(1, fds.total() / 2));
        if (byPort.size() >= kitCap) {
            return err(req, BindErrorCode.BIND_CAP_EXCEEDED, "the kit holds its cap of " + kitCap + " bindings"
                    + " (hoody.tunnel.max-bindings, at most half the descriptor budget)");
        }
        if (session.bindings().size() >= config.maxBindingsPerSession()) {
            return err(req, BindErrorCode.BIND_CAP_EXCEEDED, "this session already holds "
                    + config.maxBindingsPerSession() + " bindings, the most the kit allows per session");
        }
        Slot slot = null;
        if (port != 0) {
            slot = new Slot();
            Slot held = byPort.putIfAbsent(port, slot);
            if (held != null) {
                PortListener owner = held.listener;
                if (owner != null && req.takeover() && owner.binding().session() != session) {
                    return takeOver(session, req, owner, kit);
                }
                String who = owner == null ? "another session" : owner.binding().session() == session
                        ? "this session (bindId " + owner.binding().bindId() + ")"
                        : "session " + owner.binding().session().id();
                return err(req, BindErrorCode.ALREADY_BOUND, "port " + port + " is held by " + who
                        + (mode == BindMode.EXPOSE && !req.takeover() ? "; BIND with takeover:true to take it over" : ""));
            }
        }
        if (!fds.tryAcquire()) {
            release(port, slot);
            return err(req, BindErrorCode.INTERNAL, "the kit has no file descriptors to spare for a listener");
        }
        ServerSocket server;
        try {
            server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(host == null ? new InetSocketAddress(port) : new InetSocketAddress(host, port), BACKLOG);
        } catch (BindException e) {
            fds.release();
            release(port, slot);
            return err(req, BindErrorCode.PORT_IN_USE, "the system refused to listen on port " + port + ": " + e.getMessage());
        } catch (IOException e) {
            fds.release();
            release(port, slot);
            return err(req, BindErrorCode.INTERNAL, "could not listen on port " + port + ": " + e.getMessage());
        }
        int actual = server.getLocalPort();
        if (slot == null) {
            slot = new Slot();
            if (byPort.putIfAbsent(actual, slot) != null) { // the OS gave out a port the table holds: cannot happen unless hosts differ
                fds.release();
                closeQuietly(server);
                return err(req, BindErrorCode.INTERNAL, "no free port could be had");
            }
        }
        String publicUrl = mode == BindMode.EXPOSE
                ? config.publicUrlPattern().map(p -> p.replace("{port}", Integer.toString(actual))).orElse(null)
                : null;
        Binding binding = new Binding(nextBindId.getAndIncrement(), mode, actual,
                host == null ? null : hostName(mode, req.host()), session, publicUrl, Instant.now());
        PortListener listener = new PortListener(server, binding, kit);
        slot.listener = listener;
        if (!session.added(binding)) { // the session ended while this BIND ran: do not leak the listener
            release(binding);
            return err(req, BindErrorCode.INTERNAL, "the session is ending");
        }
        LOG.infof("session %s: %s binding %d on port %d", session.id(), mode.mode, binding.bindId(), actual);
        BindOk ok = new BindOk(req.ref(), binding.bindId(), mode.kind, mode.mode, actual, binding.host(), publicUrl);
        session.send(ok); // before the first accept: the driver must know the bindId before its first OPEN
        listener.start();
        return ok;
    }

    /**
     * A BIND the session already got (its BIND_OK may have been lost with a socket, PROTOCOL.md §3.4): the same port
     * with the same kind, mode and host is answered with the existing binding's BIND_OK. A different BIND for a port
     * the session holds is ALREADY_BOUND, found by the port check. Port 0 always asks for a new port.
     */
    private ControlMessage repeated(KitSession session, Bind req, BindMode mode, int port) {
        Binding held = port == 0 ? null : session.bindingOn(port);
        if (held == null || held.mode() != mode || !sameHost(held, req, mode)) {
            return null;
        }
        BindOk ok = new BindOk(req.ref(), held.bindId(), mode.kind, mode.mode, held.port(), held.host(), held.publicUrl());
        session.send(ok);
        LOG.infof("session %s: BIND for port %d repeated: answered with binding %d", session.id(), held.port(), held.bindId());
        return ok;
    }

    private boolean sameHost(Binding held, Bind req, BindMode mode) {
        return mode == BindMode.EXPOSE || java.util.Objects.equals(held.host(), hostName(mode, req.host()));
    }

    /**
     * Moves a port to a new owner without closing its listener, so that a visitor arriving during the switch is
     * served by one owner or the other and never refused. Serialized per port by the listener.
     */
    private ControlMessage takeOver(KitSession session, Bind req, PortListener listener, KitContext kit) {
        Binding old = listener.binding();
        if (old.mode() != BindMode.EXPOSE) {
            return err(req, BindErrorCode.ALREADY_BOUND, "port " + req.port() + " is a pull binding, which cannot be taken over");
        }
        Binding taken = new Binding(nextBindId.getAndIncrement(), BindMode.EXPOSE, old.port(), old.host(), session,
                old.publicUrl(), Instant.now());
        BindOk ok = new BindOk(req.ref(), taken.bindId(), BindMode.EXPOSE.kind, BindMode.EXPOSE.mode, taken.port(),
                taken.host(), taken.publicUrl());
        boolean[] ending = {false};
        boolean handed = listener.handOver(old, taken, () -> {
            if (!session.added(taken)) {
                ending[0] = true;
                return false;
            }
            session.send(ok); // before any visitor is routed to the new binding
            return true;
        });
        if (!handed) {
            return ending[0]
                    ? err(req, BindErrorCode.INTERNAL, "the session is ending")
                    : err(req, BindErrorCode.ALREADY_BOUND, "port " + req.port() + " changed hands during the takeover; try again");
        }
        old.session().revokedByTakeover(old);
        kit.metrics.takeover();
        LOG.infof("session %s took port %d over from session %s (binding %d -> %d)", session.id(), old.port(),
                old.session().id(), old.bindId(), taken.bindId());
        return ok;
    }

    /** Closes the binding's listener and frees its port. Idempotent. */
    void release(Binding binding) {
        Slot slot = byPort.get(binding.port());
        PortListener listener = slot == null ? null : slot.listener;
        if (listener != CLAIMED && listener.closeIfOwnedBy(binding)) {
            byPort.remove(binding.port(), slot);
            LOG.infof("session %s: released %s binding %d on port %d", binding.session().id(), binding.mode().mode,
                    binding.bindId(), binding.port());
        }
    }

    /** Closes every listener: the kit is stopping. */
    void closeAll() {
        for (var e : List.copyOf(byPort.entrySet())) {
            PortListener l = e.getValue().listener;
            if (l != null && byPort.remove(e.getKey(), e.getValue())) {
                l.close();
            }
        }
    }

    /** Listeners whose socket is open but whose accept loop has stopped; 0 on a healthy kit. */
    public int stoppedAcceptLoops() {
        int n = 0;
        for (Slot s : byPort.values()) {
            PortListener l = s.listener;
            if (l != null && !l.isAccepting()) {
                n++;
            }
        }
        return n;
    }

    public List<Binding> all() {
        List<Binding> all = new ArrayList<>();
        for (Slot s : byPort.values()) {
            PortListener l = s.listener;
            if (l != null) {
                all.add(l.binding());
            }
        }
        return all;
    }

    private void release(int port, Slot slot) {
        if (slot != null) {
            byPort.remove(port, slot);
        }
    }

    /** @return the address to listen on, null meaning every interface */
    private InetAddress listenAddress(BindMode mode, String host) throws IOException {
        if (mode == BindMode.EXPOSE) {
            String h = config.exposeHost();
            return "*".equals(h) || h.isBlank() ? null : InetAddress.getByName(h);
        }
        String h = host == null ? "127.0.0.1" : host;
        return switch (h) {
            case "127.0.0.1", "localhost" -> InetAddress.getByAddress("localhost", new byte[]{127, 0, 0, 1});
            case "::1" -> InetAddress.getByName("::1");
            default -> throw new IOException("pull host '" + h + "' is not a loopback name; use 127.0.0.1, ::1 or localhost");
        };
    }

    private String hostName(BindMode mode, String requested) {
        return mode == BindMode.EXPOSE ? config.exposeHost() : requested == null ? "127.0.0.1" : requested;
    }

    private BindErr err(Bind req, BindErrorCode code, String message) {
        return new BindErr(req.ref(), code, message, req.port());
    }

    private static void closeQuietly(ServerSocket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }
}
