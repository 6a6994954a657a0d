package ai.hoody.tunnel.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/**
 * JSON form of control messages (docs/PROTOCOL.md §3). Written by hand against Jackson's tree model, not data
 * binding, so that every field's rule and every error message is explicit and the codec needs no reflection.
 */
public final class ControlCodec {

    /** Longest control message accepted, in characters. */
    public static final int MAX_CONTROL_CHARS = 16 * 1024;

    /**
     * Strings — values and keys alike — of at most 4096 characters (UTF-16 code units after unescaping, as Java and
     * Jackson count them), nesting at most 8 deep counting the message's own object, numbers of at most 1000 digits
     * (Jackson's default). Exactly one JSON object per message: trailing text is an error, not something to ignore. A key twice in one
     * object is an error too: Jackson would keep the last, so {@code {"type":"PING","type":"BIND",...}} would run as
     * a BIND while anything that read the first key (a log line, a proxy's filter) saw a PING.
     */
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(8).maxStringLength(4096).maxNameLength(4096)
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private ControlCodec() {
    }

    public static String encode(ControlMessage message) {
        ObjectNode o = JSON.createObjectNode();
        switch (message) {
            case ControlMessage.Hello h -> {
                o.put("type", "HELLO").put("version", h.version());
                ObjectNode client = o.putObject("client");
                client.put("name", h.clientName()).put("version", h.clientVersion());
                o.put("maxStreams", h.maxStreams());
                if (h.resume() == null) {
                    o.putNull("resume");
                } else {
                    o.putObject("resume").put("sessionId", h.resume().sessionId()).put("token", h.resume().token());
                }
                if (h.token() != null) {
                    o.put("token", h.token());
                }
                if (h.shards() > 0) {
                    o.put("shards", h.shards());
                }
                putFeatures(o, h.features());
            }
            case ControlMessage.HelloOk h -> {
                o.put("type", "HELLO_OK").put("sessionId", h.sessionId())
                    .put("resumeToken", h.resumeToken()).put("maxStreams", h.maxStreams())
                    .put("heartbeatIntervalMs", h.heartbeatIntervalMs()).put("heartbeatTimeoutMs", h.heartbeatTimeoutMs())
                    .put("openTimeoutMs", h.openTimeoutMs()).put("streamWindow", h.streamWindow())
                    .put("maxDataBytes", h.maxDataBytes()).put("resumed", h.resumed());
                if (h.shards() > 0) {
                    o.put("shards", h.shards()).put("joinToken", h.joinToken());
                }
                putFeatures(o, h.features());
            }
            case ControlMessage.Join j -> o.put("type", "JOIN").put("sessionId", j.sessionId()).put("joinToken", j.joinToken())
                    .put("shard", j.shard());
            case ControlMessage.JoinOk j -> o.put("type", "JOIN_OK").put("sessionId", j.sessionId()).put("shard", j.shard());
            case ControlMessage.Bind b -> {
                o.put("type", "BIND").put("ref", b.ref()).put("kind", b.kind()).put("mode", b.mode()).put("port", b.port());
                if (b.host() != null) {
                    o.put("host", b.host());
                }
                o.put("takeover", b.takeover());
            }
            case ControlMessage.BindOk b -> o.put("type", "BIND_OK").put("ref", b.ref()).put("bindId", b.bindId())
                    .put("kind", b.kind()).put("mode", b.mode()).put("port", b.port()).put("host", b.host())
                    .put("publicUrl", b.publicUrl());
            case ControlMessage.BindErr b -> o.put("type", "BIND_ERR").put("ref", b.ref()).put("code", b.code().name())
                    .put("message", b.message()).put("port", b.port());
            case ControlMessage.Unbind u -> o.put("type", "UNBIND").put("bindId", u.bindId());
            case ControlMessage.BindRevoked r -> o.put("type", "BIND_REVOKED").put("bindId", r.bindId()).put("reason", r.reason());
            case ControlMessage.Ping p -> o.put("type", "PING").put("ts", p.ts());
            case ControlMessage.Pong p -> o.put("type", "PONG").put("ts", p.ts());
            case ControlMessage.GoAway g -> o.put("type", "GOAWAY").put("code", g.code().name()).put("message", g.message());
            case ControlMessage.Unknown u -> throw new IllegalArgumentException("cannot send an unknown message " + u.type());
        }
        return o.toString();
    }

    /** @throws MalformedMessageException when the text is not a control message of §3 */
    public static ControlMessage decode(String text) throws MalformedMessageException {
        if (text.length() > MAX_CONTROL_CHARS) {
            throw new MalformedMessageException("control message longer than " + MAX_CONTROL_CHARS + " characters");
        }
        JsonNode o;
        try {
            o = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new MalformedMessageException("control message is not JSON: " + e.getOriginalMessage());
        }
        if (o == null || !o.isObject()) {
            throw new MalformedMessageException("control message must be a JSON object");
        }
        String type = string(o, "type", true);
        return switch (type) {
            case "HELLO" -> {
                JsonNode client = o.path("client");
                if (!client.isMissingNode() && !client.isNull() && !client.isObject()) {
                    throw new MalformedMessageException("HELLO.client must be an object");
                }
                JsonNode r = o.path("resume");
                ControlMessage.Resume resume = null;
                if (r.isObject()) {
                    resume = new ControlMessage.Resume(string(r, "sessionId", true), string(r, "token", true));
                } else if (!r.isMissingNode() && !r.isNull()) {
                    throw new MalformedMessageException("HELLO.resume must be an object or null");
                }
                int maxStreams = integer(o, "maxStreams", 0, 0, Integer.MAX_VALUE);
                yield new ControlMessage.Hello(integer(o, "version", -1, 1, 255), string(client, "name", false),
                        string(client, "version", false), maxStreams, resume, string(o, "token", false),
                        integer(o, "shards", 0, 1, Protocol.MAX_SHARDS), features(o));
            }
            case "HELLO_OK" -> {
                // v2 (§12.2): joinToken belongs to shards; without shards it is a v1 HELLO_OK and the token is ignored.
                int shards = integer(o, "shards", 0, 1, Protocol.MAX_SHARDS);
                String joinToken = string(o, "joinToken", false);
                yield new ControlMessage.HelloOk(string(o, "sessionId", true), string(o, "resumeToken", true),
                        integer(o, "maxStreams", -1, 1, Integer.MAX_VALUE), longInt(o, "heartbeatIntervalMs"),
                        integer(o, "streamWindow", -1, FrameCodec.MAX_DATA_BYTES, Integer.MAX_VALUE),
                        integer(o, "maxDataBytes", -1, 1, Integer.MAX_VALUE), requiredBool(o, "resumed"),
                        optionalLongInt(o, "heartbeatTimeoutMs"), optionalLongInt(o, "openTimeoutMs"),
                        shards, shards == 0 ? null : joinToken, features(o));
            }
            case "JOIN" -> new ControlMessage.Join(string(o, "sessionId", true), string(o, "joinToken", true),
                    integer(o, "shard", -1, 0, Protocol.MAX_SHARDS - 1));
            case "JOIN_OK" -> new ControlMessage.JoinOk(string(o, "sessionId", true), integer(o, "shard", -1, 0, Protocol.MAX_SHARDS - 1));
            case "BIND" -> new ControlMessage.Bind(string(o, "ref", false), string(o, "kind", true),
                    string(o, "mode", true), integer(o, "port", -1, 0, 65535), string(o, "host", false),
                    bool(o, "takeover"));
            case "BIND_OK" -> new ControlMessage.BindOk(string(o, "ref", false), integer(o, "bindId", -1, 1, Integer.MAX_VALUE),
                    string(o, "kind", true), string(o, "mode", true), integer(o, "port", -1, 0, 65535),
                    string(o, "host", false), string(o, "publicUrl", false));
            case "BIND_ERR" -> new ControlMessage.BindErr(string(o, "ref", false), bindErrorCode(string(o, "code", true)),
                    string(o, "message", false), integer(o, "port", 0, 0, 65535));
            case "UNBIND" -> new ControlMessage.Unbind(integer(o, "bindId", -1, 1, Integer.MAX_VALUE));
            case "BIND_REVOKED" -> new ControlMessage.BindRevoked(integer(o, "bindId", -1, 1, Integer.MAX_VALUE),
                    string(o, "reason", false));
            case "PING" -> new ControlMessage.Ping(timestamp(o));
            case "PONG" -> new ControlMessage.Pong(timestamp(o));
            case "GOAWAY" -> new ControlMessage.GoAway(goAwayCode(string(o, "code", true)), string(o, "message", false));
            default -> new ControlMessage.Unknown(type);
        };
    }

    /** Written only when there is one: a message without features reads the same to any version. */
    private static void putFeatures(ObjectNode o, List<String> features) {
        if (!features.isEmpty()) {
            ArrayNode a = o.putArray("features");
            features.forEach(a::add);
        }
    }

    /**
     * HELLO/HELLO_OK {@code features}: absent or null is none; otherwise an array of at most {@link Protocol#MAX_FEATURES}
     * strings. Names this version does not know are kept (a receiver ignores them).
     */
    private static List<String> features(JsonNode o) throws MalformedMessageException {
        JsonNode v = o.path("features");
        if (v.isMissingNode() || v.isNull()) {
            return List.of();
        }
        if (!v.isArray() || v.size() > Protocol.MAX_FEATURES) {
            throw new MalformedMessageException("field 'features' must be an array of at most " + Protocol.MAX_FEATURES + " strings");
        }
        List<String> names = new ArrayList<>(v.size());
        for (JsonNode name : v) {
            if (!name.isTextual()) {
                throw new MalformedMessageException("field 'features' must be an array of at most " + Protocol.MAX_FEATURES + " strings");
            }
            names.add(name.textValue());
        }
        return names;
    }

    private static String string(JsonNode o, String field, boolean required) throws MalformedMessageException {
        JsonNode v = o.path(field);
        if (v.isMissingNode() || v.isNull()) {
            if (required) {
                throw new MalformedMessageException("missing field '" + field + "'");
            }
            return null;
        }
        if (!v.isTextual()) {
            throw new MalformedMessageException("field '" + field + "' must be a string");
        }
        return v.textValue();
    }

    /** @param absent the value when the field is missing, or -1 when it is required */
    private static int integer(JsonNode o, String field, int absent, int min, int max) throws MalformedMessageException {
        JsonNode v = o.path(field);
        if (v.isMissingNode() || v.isNull()) {
            if (absent < 0) {
                throw new MalformedMessageException("missing field '" + field + "'");
            }
            return absent;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
            throw new MalformedMessageException("field '" + field + "' must be an integer in " + min + ".." + max);
        }
        return (int) v.longValue();
    }

    private static long longInt(JsonNode o, String field) throws MalformedMessageException {
        JsonNode v = o.path(field);
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
            throw new MalformedMessageException("field '" + field + "' must be a non-negative integer");
        }
        return v.longValue();
    }

    /** As {@link #longInt}, but absent or null reads as 0 (a field a later version added: older senders omit it). */
    private static long optionalLongInt(JsonNode o, String field) throws MalformedMessageException {
        JsonNode v = o.path(field);
        return v.isMissingNode() || v.isNull() ? 0 : longInt(o, field);
    }

    private static boolean bool(JsonNode o, String field) throws MalformedMessageException {
        JsonNode v = o.path(field);
        if (v.isMissingNode() || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw new MalformedMessageException("field '" + field + "' must be true or false");
        }
        return v.booleanValue();
    }

    private static boolean requiredBool(JsonNode o, String field) throws MalformedMessageException {
        JsonNode v = o.path(field);
        if (!v.isBoolean()) {
            throw new MalformedMessageException("field '" + field + "' must be true or false");
        }
        return v.booleanValue();
    }

    /** PING/PONG {@code ts} is opaque to the receiver: anything but a JSON integer reads as 0, never as an error. */
    private static long timestamp(JsonNode o) {
        JsonNode v = o.path("ts");
        return v.isIntegralNumber() && v.canConvertToLong() ? v.longValue() : 0;
    }

    private static BindErrorCode bindErrorCode(String s) {
        try {
            return BindErrorCode.valueOf(s);
        } catch (IllegalArgumentException e) {
            return BindErrorCode.INTERNAL; // a newer kit's code still reads as an error
        }
    }

    private static GoAwayCode goAwayCode(String s) {
        try {
            return GoAwayCode.valueOf(s);
        } catch (IllegalArgumentException e) {
            return GoAwayCode.NORMAL;
        }
    }
}
