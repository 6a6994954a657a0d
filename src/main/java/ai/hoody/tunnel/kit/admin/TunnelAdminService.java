package ai.hoody.tunnel.kit.admin;

import ai.hoody.tunnel.kit.KitLifecycle;

import ai.hoody.tunnel.protocol.Version;
import ai.hoody.tunnel.kit.Binding;
import ai.hoody.tunnel.kit.BindingTable;
import ai.hoody.tunnel.kit.FdBudget;
import ai.hoody.tunnel.kit.KitSession;
import ai.hoody.tunnel.kit.SessionRegistry;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Reads the kit's live state into the admin API's records, and kills sessions. Each session's counters are read once
 * per answer, so the totals of an answer add up to its rows even while streams come and go.
 */
@ApplicationScoped
public class TunnelAdminService {

    private static final Comparator<KitSession> OLDEST_FIRST =
            Comparator.comparing(KitSession::started).thenComparing(KitSession::id);
    private static final String EXPOSE = "expose";
    private static final String PULL = "pull";

    private final SessionRegistry sessions;
    private final BindingTable bindings;
    private final FdBudget fds;
    private final KitLifecycle lifecycle;

    TunnelAdminService(SessionRegistry sessions, BindingTable bindings, FdBudget fds, KitLifecycle lifecycle) {
        this.sessions = sessions;
        this.bindings = bindings;
        this.fds = fds;
        this.lifecycle = lifecycle;
    }

    public HealthResponse health() {
        return new HealthResponse("ok", ProcessHandle.current().pid(), lifecycle.started().orElse(null),
                Version.USER_AGENT, FdBudget.openDescriptors(), new Memory(ProcessStats.residentSetBytes()));
    }

    public TunnelOverview overview() {
        List<SessionOverview> rows = new ArrayList<>();
        int streams = 0;
        int bound = 0;
        for (KitSession s : sessionsOldestFirst()) {
            List<BindingInfo> held = bindingsOf(s);
            int active = s.activeStreams();
            rows.add(new SessionOverview(s.id(), s.peerAddr(), s.protocol(), s.connectionsGranted(), active,
                    held.stream().filter(b -> EXPOSE.equals(b.mode())).toList(),
                    held.stream().filter(b -> PULL.equals(b.mode())).toList()));
            streams += active;
            bound += held.size();
        }
        return new TunnelOverview(rows, orphanedSessions(), streams, bound, fds.available());
    }

    public SessionsResponse sessions() {
        List<SessionInfo> rows = new ArrayList<>();
        for (KitSession s : sessionsOldestFirst()) {
            rows.add(new SessionInfo(s.id(), stateOf(s), s.peerAddr(), s.connectionsGranted(), s.activeStreams(),
                    s.maxStreams(), s.isV2(), bindingsOf(s), s.protocol(), s.shards().stream()
                    .map(h -> new ShardInfo(h.index(), h.isPrimary(), h.activeStreams(), h.bytesFromDriver(),
                            h.bytesToDriver(), h.peerAddr()))
                    .toList()));
        }
        return new SessionsResponse(rows);
    }

    public BindingsResponse bindings() {
        return new BindingsResponse(bindings.all().stream()
                .sorted(Comparator.comparingInt(Binding::port))
                .map(b -> new BindingDetail(b.port(), b.mode().kind, b.mode().mode, b.session().id(), b.bindId()))
                .toList());
    }

    /**
     * Starts ending the session: GOAWAY(ADMIN_KILL), bindings dropped, streams given {@code grace} to finish. Killing
     * a session that is already ending is accepted again, so a retried DELETE does not turn into an error.
     *
     * @throws ApiError 404 when no session has this id
     */
    public KillResponse kill(String sessionId, Duration grace) {
        KitSession s = sessions.find(sessionId)
                .orElseThrow(() -> ApiError.notFound("session_not_found", "no session with id '" + sessionId + "'"));
        s.kill(grace);
        return new KillResponse(s.id(), "closing");
    }

    /** The session's state as the admin API names it; a session that has just ended is still "ending" until it is gone. */
    static String stateOf(KitSession s) {
        return switch (s.state()) {
            case ATTACHED -> "attached";
            case ORPHANED -> "orphaned";
            case ENDING, ENDED -> "ending";
        };
    }

    /** Sessions whose driver is gone but which the kit keeps (parked) for a resume or a takeover. */
    int orphanedSessions() {
        return (int) sessions.all().stream().filter(KitSession::isOrphaned).count();
    }

    private List<KitSession> sessionsOldestFirst() {
        return sessions.all().stream().sorted(OLDEST_FIRST).toList();
    }

    private static List<BindingInfo> bindingsOf(KitSession s) {
        return s.bindings().stream()
                .sorted(Comparator.comparingInt(Binding::bindId))
                .map(b -> new BindingInfo(b.mode().kind, b.mode().mode, b.port(), b.bindId()))
                .toList();
    }
}
