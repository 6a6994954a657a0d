package ai.hoody.tunnel.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static ai.hoody.tunnel.protocol.ControlCodec.MAX_CONTROL_CHARS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/** JSON form, validation and robustness of {@link ControlCodec} (docs/PROTOCOL.md §3). Plain JUnit, no Quarkus. */
class ControlCodecTest {

    /** An independent parser for the assertions, not the codec's own. */
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final String SESSION_ID = "ses_c858384b042638478d1c2359";
    private static final String TOKEN = "SRr9xKBmJuMucAWLQF96tSS6lbK_Fk1U_qG3yEVCipU";

    // ------------------------------------------------------------------ helpers

    private static ControlMessage roundTrip(ControlMessage m) throws MalformedMessageException {
        return ControlCodec.decode(ControlCodec.encode(m));
    }

    private static JsonNode tree(ControlMessage m) throws Exception {
        return JSON.readTree(ControlCodec.encode(m));
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** Single quotes for readability in the test tables. */
    private static String q(String json) {
        return json.replace('\'', '"');
    }

    private static void assertMalformed(String json, String... fragments) {
        var thrown = assertThatThrownBy(() -> ControlCodec.decode(json))
                .isInstanceOf(MalformedMessageException.class);
        if (fragments.length > 0) {
            thrown.hasMessageContainingAll(fragments);
        }
    }

    // ------------------------------------------------------------------ v2 (PROTOCOL.md §12)

    @Test
    void v2FieldsAreOnTheWireOnlyWhenSet() throws Exception {
        assertThat(fieldNames(tree(new ControlMessage.Hello(1, "d", "1", 0, null)))).doesNotContain("shards");
        assertThat(fieldNames(tree(new ControlMessage.HelloOk(SESSION_ID, TOKEN, 1, 0, 65536, 65536, false, 0, 0))))
                .doesNotContain("shards", "joinToken");
        assertThat(tree(new ControlMessage.Join(SESSION_ID, TOKEN, 2)).toString())
                .isEqualTo("{\"type\":\"JOIN\",\"sessionId\":\"" + SESSION_ID + "\",\"joinToken\":\"" + TOKEN + "\",\"shard\":2}");
        assertThat(new ControlMessage.Join(SESSION_ID, TOKEN, 2).toString()).doesNotContain(TOKEN);
        assertThat(new ControlMessage.HelloOk(SESSION_ID, TOKEN, 1, 0, 65536, 65536, false, 0, 0, 2, "secret-join").toString())
                .doesNotContain(TOKEN, "secret-join");
    }

    @Test
    void v2FieldsOutOfRangeAreMalformed() {
        assertMalformed(q("{'type':'HELLO','version':2,'shards':0}"), "shards", "1..64");
        assertMalformed(q("{'type':'HELLO','version':2,'shards':65}"), "shards", "1..64");
        assertMalformed(q("{'type':'JOIN','sessionId':'s','joinToken':'t','shard':64}"), "shard", "0..63");
        assertMalformed(q("{'type':'JOIN','sessionId':'s','joinToken':'t'}"), "missing field 'shard'");
        assertMalformed(q("{'type':'JOIN','sessionId':'s','shard':1}"), "missing field 'joinToken'");
        assertMalformed(q("{'type':'JOIN_OK','shard':1}"), "missing field 'sessionId'");
    }

    // ------------------------------------------------------------------ round trips

    static Stream<ControlMessage> messages() {
        List<ControlMessage> all = new ArrayList<>(List.of(
                new ControlMessage.Hello(1, "hoody-tunnel-driver", "0.1.0", 16384, null),
                new ControlMessage.Hello(1, "hoody-tunnel-driver", "0.1.0", 0, new ControlMessage.Resume(SESSION_ID, TOKEN)),
                new ControlMessage.Hello(255, null, null, Integer.MAX_VALUE, null),
                new ControlMessage.Hello(1, "drïver ☕ 😀", "1.0.0-\"quoted\"\\\n", 1, null),
                new ControlMessage.HelloOk(SESSION_ID, TOKEN, 16384, 20000, 262144, 65536, false, 60000, 10000),
                new ControlMessage.HelloOk(SESSION_ID, TOKEN, 1, 0, Integer.MAX_VALUE, 65536, true, 0, 0),
                new ControlMessage.HelloOk(SESSION_ID, TOKEN, 1, 0, 65536, 65536, true, 0, 0, List.of("early-data")),
                new ControlMessage.Hello(1, "d", "v", 0, null, null, List.of("early-data", "a-later-one", "")),
                new ControlMessage.HelloOk(SESSION_ID, TOKEN, 1, Long.MAX_VALUE, 65536, 65536, false, Long.MAX_VALUE, Long.MAX_VALUE),
                new ControlMessage.Bind("1", "http", "expose", 3000, null, false),
                new ControlMessage.Bind("2", "tcp", "pull", 5432, "127.0.0.1", false),
                new ControlMessage.Bind("3", "http", "expose", 0, "::1", true),
                new ControlMessage.Bind(null, "tcp", "pull", 65535, "localhost", false),
                new ControlMessage.BindOk("1", 1, "http", "expose", 3000, null, null),
                new ControlMessage.BindOk("2", Integer.MAX_VALUE, "tcp", "pull", 5432, "127.0.0.1", null),
                new ControlMessage.BindOk(null, 7, "http", "expose", 8080, "0.0.0.0", "https://8080.example.test/"),
                new ControlMessage.Unbind(1),
                new ControlMessage.Unbind(Integer.MAX_VALUE),
                new ControlMessage.BindRevoked(1, "UNBOUND"),
                new ControlMessage.BindRevoked(2, null),
                new ControlMessage.Ping(1732630000000L),
                new ControlMessage.Ping(0),
                new ControlMessage.Ping(Long.MAX_VALUE),
                new ControlMessage.Ping(-5),
                new ControlMessage.Pong(1732630000000L),
                new ControlMessage.Pong(Long.MIN_VALUE),
                new ControlMessage.Hello(2, "hoody-tunnel-driver", "0.1.0", 16384, null, "attach-token-0123456789", 4),
                new ControlMessage.Hello(2, null, null, 0, new ControlMessage.Resume(SESSION_ID, TOKEN), null, 64),
                new ControlMessage.HelloOk(SESSION_ID, TOKEN, 16384, 20000, 262144, 65536, false, 60000, 10000, 4, TOKEN + "J"),
                new ControlMessage.Join(SESSION_ID, TOKEN, 1),
                new ControlMessage.Join(SESSION_ID, TOKEN, 63),
                new ControlMessage.JoinOk(SESSION_ID, 3)));
        for (BindErrorCode c : BindErrorCode.values()) {
            all.add(new ControlMessage.BindErr("9", c, "detail for " + c, 3000));
        }
        all.add(new ControlMessage.BindErr(null, BindErrorCode.INTERNAL, null, 0));
        for (GoAwayCode c : GoAwayCode.values()) {
            all.add(new ControlMessage.GoAway(c, "leaving: " + c));
        }
        all.add(new ControlMessage.GoAway(GoAwayCode.NORMAL, null));
        return all.stream();
    }

    @ParameterizedTest
    @MethodSource("messages")
    void everyMessageRoundTrips(ControlMessage m) throws Exception {
        assertThat(roundTrip(m)).isEqualTo(m);
    }

    @ParameterizedTest
    @EnumSource(BindErrorCode.class)
    void bindErrRoundTripsForEveryCode(BindErrorCode code) throws Exception {
        ControlMessage m = new ControlMessage.BindErr("r", code, "m", 4000);
        assertThat(roundTrip(m)).isEqualTo(m);
        assertThat(tree(m).get("code").textValue()).isEqualTo(code.name());
    }

    @ParameterizedTest
    @EnumSource(GoAwayCode.class)
    void goAwayRoundTripsForEveryCode(GoAwayCode code) throws Exception {
        ControlMessage m = new ControlMessage.GoAway(code, "bye");
        assertThat(roundTrip(m)).isEqualTo(m);
        assertThat(tree(m).get("code").textValue()).isEqualTo(code.name());
    }

    @Test
    void encodingUnknownIsRefused() {
        assertThatThrownBy(() -> ControlCodec.encode(new ControlMessage.Unknown("FUTURE")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("FUTURE");
    }

    // ------------------------------------------------------------------ exact JSON field names

    @Test
    void helloJsonWithoutResume() throws Exception {
        JsonNode n = tree(new ControlMessage.Hello(1, "hoody-tunnel-driver", "0.1.0", 16384, null));
        assertThat(fieldNames(n)).containsExactlyInAnyOrder("type", "version", "client", "maxStreams", "resume");
        assertThat(n.get("type").textValue()).isEqualTo("HELLO");
        assertThat(n.get("version").isInt()).isTrue();
        assertThat(n.get("version").intValue()).isEqualTo(1);
        assertThat(fieldNames(n.get("client"))).containsExactlyInAnyOrder("name", "version");
        assertThat(n.get("client").get("name").textValue()).isEqualTo("hoody-tunnel-driver");
        assertThat(n.get("client").get("version").textValue()).isEqualTo("0.1.0");
        assertThat(n.get("maxStreams").intValue()).isEqualTo(16384);
        assertThat(n.get("resume").isNull()).isTrue();
        // exactly the example of PROTOCOL.md §3.1
        assertThat(n).isEqualTo(JSON.readTree(q(
                "{'type':'HELLO','version':1,'client':{'name':'hoody-tunnel-driver','version':'0.1.0'},'maxStreams':16384,'resume':null}")));
    }

    @Test
    void helloJsonWithResume() throws Exception {
        JsonNode n = tree(new ControlMessage.Hello(1, "d", "v", 0, new ControlMessage.Resume(SESSION_ID, TOKEN)));
        assertThat(fieldNames(n)).containsExactlyInAnyOrder("type", "version", "client", "maxStreams", "resume");
        assertThat(fieldNames(n.get("resume"))).containsExactlyInAnyOrder("sessionId", "token");
        assertThat(n.get("resume").get("sessionId").textValue()).isEqualTo(SESSION_ID);
        assertThat(n.get("resume").get("token").textValue()).isEqualTo(TOKEN);
    }

    @Test
    void helloOkJson() throws Exception {
        JsonNode n = tree(new ControlMessage.HelloOk(SESSION_ID, TOKEN, 16384, 20000, 262144, 65536, false, 60000, 10000));
        assertThat(fieldNames(n)).containsExactlyInAnyOrder("type", "sessionId", "resumeToken", "maxStreams",
                "heartbeatIntervalMs", "heartbeatTimeoutMs", "openTimeoutMs", "streamWindow", "maxDataBytes", "resumed");
        assertThat(n).isEqualTo(JSON.readTree(q("{'type':'HELLO_OK','sessionId':'" + SESSION_ID + "','resumeToken':'" + TOKEN
                + "','maxStreams':16384,'heartbeatIntervalMs':20000,'heartbeatTimeoutMs':60000,'openTimeoutMs':10000,"
                + "'streamWindow':262144,'maxDataBytes':65536,'resumed':false}")));
        assertThat(n.get("resumed").isBoolean()).isTrue();
    }

    /** PROTOCOL.md §3.2: heartbeatTimeoutMs and openTimeoutMs came later; a kit that omits them is still understood. */
    /** §3.1/§3.2: {@code features} is optional, an array of strings, names unknown to the reader are kept. */
    @Test
    void featuresAreAnOptionalArrayOfStrings() throws Exception {
        String hello = "{'type':'HELLO','version':1";
        assertThat(((ControlMessage.Hello) ControlCodec.decode(q(hello + "}"))).features()).isEmpty();
        assertThat(((ControlMessage.Hello) ControlCodec.decode(q(hello + ",'features':null}"))).features()).isEmpty();
        assertThat(((ControlMessage.Hello) ControlCodec.decode(q(hello + ",'features':['early-data','x']}"))).features())
                .containsExactly("early-data", "x");
        assertMalformed(q(hello + ",'features':'early-data'}"), "features");
        assertMalformed(q(hello + ",'features':[1]}"), "features");
        assertMalformed(q(hello + ",'features':[" + "'a',".repeat(64) + "'b']}"), "at most 64"); // 65 entries
        assertThat(fieldNames(tree(new ControlMessage.Hello(1, "d", "v", 0, null)))).doesNotContain("features");
    }

    @Test
    void helloOkWithoutTheTimeoutsOfLaterKitsReadsThemAsZero() throws Exception {
        String older = "{'type':'HELLO_OK','sessionId':'" + SESSION_ID + "','resumeToken':'" + TOKEN
                + "','maxStreams':16384,'heartbeatIntervalMs':20000,'streamWindow':262144,'maxDataBytes':65536,'resumed':false";
        ControlMessage.HelloOk expected = new ControlMessage.HelloOk(SESSION_ID, TOKEN, 16384, 20000, 262144, 65536, false, 0, 0);
        assertThat(ControlCodec.decode(q(older + "}"))).isEqualTo(expected);
        assertThat(ControlCodec.decode(q(older + ",'heartbeatTimeoutMs':null,'openTimeoutMs':null}"))).isEqualTo(expected);
        assertMalformed(q(older + ",'heartbeatTimeoutMs':-1}"), "heartbeatTimeoutMs");
        assertMalformed(q(older + ",'openTimeoutMs':'10000'}"), "openTimeoutMs");
        assertMalformed(q(older + ",'openTimeoutMs':1.5}"), "openTimeoutMs");
    }

    @Test
    void bindJsonWithoutHostOmitsHost() throws Exception {
        JsonNode n = tree(new ControlMessage.Bind("1", "http", "expose", 3000, null, false));
        assertThat(fieldNames(n)).containsExactlyInAnyOrder("type", "ref", "kind", "mode", "port", "takeover");
        assertThat(n).isEqualTo(JSON.readTree(q("{'type':'BIND','ref':'1','kind':'http','mode':'expose','port':3000,'takeover':false}")));
    }

    @Test
    void bindJsonWithHost() throws Exception {
        JsonNode n = tree(new ControlMessage.Bind("2", "tcp", "pull", 5432, "127.0.0.1", false));
        assertThat(fieldNames(n)).containsExactlyInAnyOrder("type", "ref", "kind", "mode", "port", "host", "takeover");
        assertThat(n).isEqualTo(JSON.readTree(q(
                "{'type':'BIND','ref':'2','kind':'tcp','mode':'pull','port':5432,'host':'127.0.0.1','takeover':false}")));
    }

    @Test
    void bindOkJsonWritesNullHostAndPublicUrl() throws Exception {
        JsonNode n = tree(new ControlMessage.BindOk("1", 1, "http", "expose", 3000, null, null));
        assertThat(fieldNames(n)).containsExactlyInAnyOrder("type", "ref", "bindId", "kind", "mode", "port", "host", "publicUrl");
        assertThat(n.get("host").isNull()).isTrue();
        assertThat(n.get("publicUrl").isNull()).isTrue();
        assertThat(n).isEqualTo(JSON.readTree(q(
                "{'type':'BIND_OK','ref':'1','bindId':1,'kind':'http','mode':'expose','port':3000,'host':null,'publicUrl':null}")));
    }

    @Test
    void bindErrJson() throws Exception {
        JsonNode n = tree(new ControlMessage.BindErr("1", BindErrorCode.ALREADY_BOUND, "port 3000 is held", 3000));
        assertThat(fieldNames(n)).containsExactlyInAnyOrder("type", "ref", "code", "message", "port");
        assertThat(n).isEqualTo(JSON.readTree(q(
                "{'type':'BIND_ERR','ref':'1','code':'ALREADY_BOUND','message':'port 3000 is held','port':3000}")));
    }

    @Test
    void unbindBindRevokedPingPongGoAwayJson() throws Exception {
        assertThat(tree(new ControlMessage.Unbind(1))).isEqualTo(JSON.readTree(q("{'type':'UNBIND','bindId':1}")));
        assertThat(tree(new ControlMessage.BindRevoked(1, "UNBOUND")))
                .isEqualTo(JSON.readTree(q("{'type':'BIND_REVOKED','bindId':1,'reason':'UNBOUND'}")));
        assertThat(tree(new ControlMessage.Ping(1732630000000L))).isEqualTo(JSON.readTree(q("{'type':'PING','ts':1732630000000}")));
        assertThat(tree(new ControlMessage.Pong(1732630000000L))).isEqualTo(JSON.readTree(q("{'type':'PONG','ts':1732630000000}")));
        assertThat(tree(new ControlMessage.GoAway(GoAwayCode.NORMAL, "driver stopping")))
                .isEqualTo(JSON.readTree(q("{'type':'GOAWAY','code':'NORMAL','message':'driver stopping'}")));
    }

    @Test
    void encodedMessagesAreSingleLineJsonObjects() {
        messages().forEach(m -> {
            String s = ControlCodec.encode(m);
            assertThat(s).startsWith("{").endsWith("}").doesNotContain("\n");
            assertThat(s.length()).isLessThan(MAX_CONTROL_CHARS);
        });
    }

    // ------------------------------------------------------------------ decoding the spec's examples

    @Test
    void protocolDocumentExamplesDecode() throws Exception {
        assertThat(ControlCodec.decode(q("{'type':'HELLO','version':1,'client':{'name':'hoody-tunnel-driver','version':'0.1.0'},'maxStreams':16384,'resume':null}")))
                .isEqualTo(new ControlMessage.Hello(1, "hoody-tunnel-driver", "0.1.0", 16384, null));
        assertThat(ControlCodec.decode(q("{'type':'BIND','ref':'1','kind':'http','mode':'expose','port':3000,'takeover':false}")))
                .isEqualTo(new ControlMessage.Bind("1", "http", "expose", 3000, null, false));
        assertThat(ControlCodec.decode(q("{'type':'BIND','ref':'2','kind':'tcp','mode':'pull','port':5432,'host':'127.0.0.1','takeover':false}")))
                .isEqualTo(new ControlMessage.Bind("2", "tcp", "pull", 5432, "127.0.0.1", false));
        assertThat(ControlCodec.decode(q("{'type':'BIND_OK','ref':'1','bindId':1,'kind':'http','mode':'expose','port':3000,'host':null,'publicUrl':null}")))
                .isEqualTo(new ControlMessage.BindOk("1", 1, "http", "expose", 3000, null, null));
        assertThat(ControlCodec.decode(q("{'type':'BIND_ERR','ref':'1','code':'ALREADY_BOUND','message':'port 3000 is held by session ses_0f3a…','port':3000}")))
                .isEqualTo(new ControlMessage.BindErr("1", BindErrorCode.ALREADY_BOUND, "port 3000 is held by session ses_0f3a…", 3000));
        assertThat(ControlCodec.decode(q("{'type':'UNBIND','bindId':1}"))).isEqualTo(new ControlMessage.Unbind(1));
        assertThat(ControlCodec.decode(q("{'type':'BIND_REVOKED','bindId':1,'reason':'UNBOUND'}")))
                .isEqualTo(new ControlMessage.BindRevoked(1, "UNBOUND"));
        assertThat(ControlCodec.decode(q("{'type':'GOAWAY','code':'NORMAL','message':'driver stopping'}")))
                .isEqualTo(new ControlMessage.GoAway(GoAwayCode.NORMAL, "driver stopping"));
        assertThat(ControlCodec.decode(q("{'type':'PING','ts':1732630000000}"))).isEqualTo(new ControlMessage.Ping(1732630000000L));
        assertThat(ControlCodec.decode(q("{'type':'PONG','ts':1732630000000}"))).isEqualTo(new ControlMessage.Pong(1732630000000L));
    }

    // ------------------------------------------------------------------ decoding: defaults and tolerance

    @Test
    void optionalFieldsTakeTheirDefaults() throws Exception {
        assertThat(ControlCodec.decode(q("{'type':'HELLO','version':1}")))
                .isEqualTo(new ControlMessage.Hello(1, null, null, 0, null));
        assertThat(ControlCodec.decode(q("{'type':'HELLO','version':1,'client':null,'maxStreams':null,'resume':null}")))
                .isEqualTo(new ControlMessage.Hello(1, null, null, 0, null));
        assertThat(ControlCodec.decode(q("{'type':'HELLO','version':1,'client':{}}")))
                .isEqualTo(new ControlMessage.Hello(1, null, null, 0, null));
        assertThat(ControlCodec.decode(q("{'type':'BIND','kind':'http','mode':'expose','port':80}")))
                .isEqualTo(new ControlMessage.Bind(null, "http", "expose", 80, null, false));
        assertThat(ControlCodec.decode(q("{'type':'BIND','ref':null,'kind':'http','mode':'expose','port':80,'host':null,'takeover':null}")))
                .isEqualTo(new ControlMessage.Bind(null, "http", "expose", 80, null, false));
        assertThat(ControlCodec.decode(q("{'type':'BIND_ERR','code':'PORT_IN_USE'}")))
                .isEqualTo(new ControlMessage.BindErr(null, BindErrorCode.PORT_IN_USE, null, 0));
        assertThat(ControlCodec.decode(q("{'type':'PING'}"))).isEqualTo(new ControlMessage.Ping(0));
        assertThat(ControlCodec.decode(q("{'type':'PONG','ts':null}"))).isEqualTo(new ControlMessage.Pong(0));
        assertThat(ControlCodec.decode(q("{'type':'GOAWAY','code':'SHUTDOWN'}"))).isEqualTo(new ControlMessage.GoAway(GoAwayCode.SHUTDOWN, null));
    }

    @Test
    void unknownFieldsAreIgnored() throws Exception {
        assertThat(ControlCodec.decode(q("{'future':{'a':[1,2,{'b':null}]},'type':'UNBIND','bindId':3,'x':'y'}")))
                .isEqualTo(new ControlMessage.Unbind(3));
    }

    @Test
    void whitespaceAroundAndInsideIsAccepted() throws Exception {
        assertThat(ControlCodec.decode(" \n\t{ \"type\" : \"PING\" , \"ts\" : 7 }\r\n ")).isEqualTo(new ControlMessage.Ping(7));
    }

    @ParameterizedTest
    @ValueSource(strings = {"FUTURE_THING", "hello", "Ping", "", " HELLO", "BIND_OK2", "ü"})
    void unknownTypeDecodesToUnknown(String type) throws Exception {
        ObjectNode o = JsonNodeFactory.instance.objectNode().put("type", type).put("whatever", 1);
        o.putObject("nested").putArray("deeper").add(1);
        assertThat(ControlCodec.decode(o.toString())).isEqualTo(new ControlMessage.Unknown(type));
    }

    @Test
    void unknownTypeDoesNotValidateOtherFields() throws Exception {
        // fields of unknown types are not checked: a future message may give them any meaning
        assertThat(ControlCodec.decode(q("{'type':'NEW','port':-1,'version':'x'}"))).isEqualTo(new ControlMessage.Unknown("NEW"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"SOMETHING_NEW", "already_bound", "", "INTERNAL2"})
    void unknownBindErrorCodeDecodesAsInternal(String code) throws Exception {
        assertThat(ControlCodec.decode(q("{'type':'BIND_ERR','ref':'1','code':'" + code + "','message':'m','port':1}")))
                .isEqualTo(new ControlMessage.BindErr("1", BindErrorCode.INTERNAL, "m", 1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"SOMETHING_NEW", "shutdown", ""})
    void unknownGoAwayCodeDecodesAsNormal(String code) throws Exception {
        assertThat(ControlCodec.decode(q("{'type':'GOAWAY','code':'" + code + "'}")))
                .isEqualTo(new ControlMessage.GoAway(GoAwayCode.NORMAL, null));
    }

    @ParameterizedTest
    @ValueSource(strings = {"'5'", "'abc'", "1.9", "true", "[]", "{}", "1e300", "-1e300", "123456789012345678901234567890"})
    void oddPingTimestampsAreNeverAnError(String ts) throws Exception {
        assertThat(ControlCodec.decode(q("{'type':'PING','ts':" + ts + "}"))).isInstanceOf(ControlMessage.Ping.class);
        assertThat(ControlCodec.decode(q("{'type':'PONG','ts':" + ts + "}"))).isInstanceOf(ControlMessage.Pong.class);
    }

    /** PROTOCOL.md §3.8: "absent (or not an integer) reads as 0". The codec uses asLong(0), which parses text and truncates. */
    @ParameterizedTest
    @ValueSource(strings = {"'5'", "1.9", "true"})
    void nonIntegerPingTimestampReadsAsZero(String ts) throws Exception {
        assertThat(ControlCodec.decode(q("{'type':'PING','ts':" + ts + "}"))).isEqualTo(new ControlMessage.Ping(0));
    }

    @Test
    void boundaryValuesAreAccepted() throws Exception {
        assertThat(ControlCodec.decode(q("{'type':'HELLO','version':255,'maxStreams':2147483647}")))
                .isEqualTo(new ControlMessage.Hello(255, null, null, Integer.MAX_VALUE, null));
        assertThat(ControlCodec.decode(q("{'type':'BIND','kind':'k','mode':'m','port':0}")))
                .isEqualTo(new ControlMessage.Bind(null, "k", "m", 0, null, false));
        assertThat(ControlCodec.decode(q("{'type':'BIND','kind':'k','mode':'m','port':65535,'takeover':true}")))
                .isEqualTo(new ControlMessage.Bind(null, "k", "m", 65535, null, true));
        assertThat(ControlCodec.decode(q("{'type':'UNBIND','bindId':2147483647}"))).isEqualTo(new ControlMessage.Unbind(Integer.MAX_VALUE));
        assertMalformed(q("{'type':'UNBIND','bindId':-0}"), "field 'bindId'");
    }

    // ------------------------------------------------------------------ decoding: rejection

    static Stream<Arguments> malformed() {
        String bind = "'type':'BIND','ref':'1','kind':'http','mode':'expose'";
        String hello = "'type':'HELLO','version':1";
        return Stream.of(
                // not a JSON object
                Arguments.of("not json", "not JSON"),
                Arguments.of("{", "not JSON"),
                Arguments.of("{'type':'PING',}", "not JSON"),
                Arguments.of("{'type':'PING'", "not JSON"),
                Arguments.of("{type:'PING'}", "not JSON"),
                Arguments.of("", "JSON object"),
                Arguments.of("   ", "JSON object"),
                Arguments.of("[]", "must be a JSON object"),
                Arguments.of("[{'type':'PING'}]", "must be a JSON object"),
                Arguments.of("'PING'", "must be a JSON object"),
                Arguments.of("42", "must be a JSON object"),
                Arguments.of("null", "must be a JSON object"),
                Arguments.of("true", "must be a JSON object"),
                // type
                Arguments.of("{}", "missing field 'type'"),
                Arguments.of("{'type':null}", "missing field 'type'"),
                Arguments.of("{'ts':1}", "missing field 'type'"),
                Arguments.of("{'type':1}", "field 'type' must be a string"),
                Arguments.of("{'type':true}", "field 'type' must be a string"),
                Arguments.of("{'type':['HELLO']}", "field 'type' must be a string"),
                Arguments.of("{'type':{'name':'HELLO'}}", "field 'type' must be a string"),
                // HELLO
                Arguments.of("{'type':'HELLO'}", "missing field 'version'"),
                Arguments.of("{'type':'HELLO','version':null}", "missing field 'version'"),
                Arguments.of("{'type':'HELLO','version':'1'}", "field 'version' must be an integer in 1..255"),
                Arguments.of("{'type':'HELLO','version':0}", "field 'version' must be an integer in 1..255"),
                Arguments.of("{'type':'HELLO','version':-1}", "field 'version'"),
                Arguments.of("{'type':'HELLO','version':256}", "field 'version'"),
                Arguments.of("{'type':'HELLO','version':1.0}", "field 'version'"),
                Arguments.of("{'type':'HELLO','version':1e0}", "field 'version'"),
                Arguments.of("{'type':'HELLO','version':true}", "field 'version'"),
                Arguments.of("{'type':'HELLO','version':[1]}", "field 'version'"),
                Arguments.of("{" + hello + ",'maxStreams':-1}", "field 'maxStreams' must be an integer in 0..2147483647"),
                Arguments.of("{" + hello + ",'maxStreams':2147483648}", "field 'maxStreams'"),
                Arguments.of("{" + hello + ",'maxStreams':'16'}", "field 'maxStreams'"),
                Arguments.of("{" + hello + ",'client':'me'}", "HELLO.client must be an object"),
                Arguments.of("{" + hello + ",'client':[]}", "HELLO.client must be an object"),
                Arguments.of("{" + hello + ",'client':{'name':5}}", "field 'name' must be a string"),
                Arguments.of("{" + hello + ",'client':{'version':1.0}}", "field 'version' must be a string"),
                Arguments.of("{" + hello + ",'resume':'ses_1'}", "HELLO.resume must be an object or null"),
                Arguments.of("{" + hello + ",'resume':5}", "HELLO.resume must be an object or null"),
                Arguments.of("{" + hello + ",'resume':[]}", "HELLO.resume must be an object or null"),
                Arguments.of("{" + hello + ",'resume':false}", "HELLO.resume must be an object or null"),
                Arguments.of("{" + hello + ",'resume':{'sessionId':'s'}}", "missing field 'token'"),
                Arguments.of("{" + hello + ",'resume':{'sessionId':'s','token':null}}", "missing field 'token'"),
                Arguments.of("{" + hello + ",'resume':{'token':'t'}}", "missing field 'sessionId'"),
                Arguments.of("{" + hello + ",'resume':{'sessionId':'s','token':1}}", "field 'token' must be a string"),
                // HELLO_OK
                Arguments.of("{'type':'HELLO_OK','resumeToken':'t','maxStreams':1,'heartbeatIntervalMs':0,'streamWindow':65536,'maxDataBytes':65536}", "missing field 'sessionId'"),
                Arguments.of("{'type':'HELLO_OK','sessionId':'s','resumeToken':'t','maxStreams':0,'heartbeatIntervalMs':0,'streamWindow':65536,'maxDataBytes':65536}", "field 'maxStreams'"),
                Arguments.of("{'type':'HELLO_OK','sessionId':'s','resumeToken':'t','maxStreams':1,'streamWindow':65536,'maxDataBytes':65536}", "field 'heartbeatIntervalMs'"),
                Arguments.of("{'type':'HELLO_OK','sessionId':'s','resumeToken':'t','maxStreams':1,'heartbeatIntervalMs':-1,'streamWindow':65536,'maxDataBytes':65536}", "field 'heartbeatIntervalMs'"),
                Arguments.of("{'type':'HELLO_OK','sessionId':'s','resumeToken':'t','maxStreams':1,'heartbeatIntervalMs':'1','streamWindow':65536,'maxDataBytes':65536}", "field 'heartbeatIntervalMs'"),
                Arguments.of("{'type':'HELLO_OK','sessionId':'s','resumeToken':'t','maxStreams':1,'heartbeatIntervalMs':0,'maxDataBytes':65536}", "missing field 'streamWindow'"),
                Arguments.of("{'type':'HELLO_OK','sessionId':'s','resumeToken':'t','maxStreams':1,'heartbeatIntervalMs':0,'streamWindow':65536,'maxDataBytes':'65536'}", "field 'maxDataBytes'"),
                // BIND
                Arguments.of("{'type':'BIND','ref':'1','mode':'expose','port':3000}", "missing field 'kind'"),
                Arguments.of("{'type':'BIND','ref':'1','kind':'http','port':3000}", "missing field 'mode'"),
                Arguments.of("{" + bind + "}", "missing field 'port'"),
                Arguments.of("{" + bind + ",'port':null}", "missing field 'port'"),
                Arguments.of("{" + bind + ",'port':70000}", "field 'port' must be an integer in 0..65535"),
                Arguments.of("{" + bind + ",'port':65536}", "field 'port' must be an integer in 0..65535"),
                Arguments.of("{" + bind + ",'port':-1}", "field 'port' must be an integer in 0..65535"),
                Arguments.of("{" + bind + ",'port':1.5}", "field 'port' must be an integer in 0..65535"),
                Arguments.of("{" + bind + ",'port':3000.0}", "field 'port'"),
                Arguments.of("{" + bind + ",'port':3e3}", "field 'port'"),
                Arguments.of("{" + bind + ",'port':'3000'}", "field 'port'"),
                Arguments.of("{" + bind + ",'port':99999999999999999999999999}", "field 'port'"),
                Arguments.of("{" + bind + ",'port':-99999999999999999999999999}", "field 'port'"),
                Arguments.of("{" + bind + ",'port':3000,'takeover':'true'}", "field 'takeover' must be true or false"),
                Arguments.of("{" + bind + ",'port':3000,'takeover':1}", "field 'takeover' must be true or false"),
                Arguments.of("{" + bind + ",'port':3000,'takeover':'false'}", "field 'takeover'"),
                Arguments.of("{" + bind + ",'port':3000,'host':5}", "field 'host' must be a string"),
                Arguments.of("{" + bind + ",'port':3000,'host':['127.0.0.1']}", "field 'host' must be a string"),
                Arguments.of("{'type':'BIND','ref':1,'kind':'http','mode':'expose','port':3000}", "field 'ref' must be a string"),
                Arguments.of("{'type':'BIND','kind':7,'mode':'expose','port':3000}", "field 'kind' must be a string"),
                // BIND_OK, BIND_ERR
                Arguments.of("{'type':'BIND_OK','ref':'1','kind':'http','mode':'expose','port':3000}", "missing field 'bindId'"),
                Arguments.of("{'type':'BIND_OK','ref':'1','bindId':0,'kind':'http','mode':'expose','port':3000}", "field 'bindId'"),
                Arguments.of("{'type':'BIND_OK','ref':'1','bindId':1,'mode':'expose','port':3000}", "missing field 'kind'"),
                Arguments.of("{'type':'BIND_OK','ref':'1','bindId':1,'kind':'http','mode':'expose','port':3000,'publicUrl':1}", "field 'publicUrl'"),
                Arguments.of("{'type':'BIND_ERR','ref':'1','message':'m','port':1}", "missing field 'code'"),
                Arguments.of("{'type':'BIND_ERR','ref':'1','code':3,'message':'m','port':1}", "field 'code' must be a string"),
                Arguments.of("{'type':'BIND_ERR','code':'INTERNAL','port':-1}", "field 'port'"),
                Arguments.of("{'type':'BIND_ERR','code':'INTERNAL','message':false}", "field 'message'"),
                // UNBIND, BIND_REVOKED
                Arguments.of("{'type':'UNBIND'}", "missing field 'bindId'"),
                Arguments.of("{'type':'UNBIND','bindId':0}", "field 'bindId' must be an integer in 1..2147483647"),
                Arguments.of("{'type':'UNBIND','bindId':-1}", "field 'bindId'"),
                Arguments.of("{'type':'UNBIND','bindId':2147483648}", "field 'bindId'"),
                Arguments.of("{'type':'UNBIND','bindId':'1'}", "field 'bindId'"),
                Arguments.of("{'type':'BIND_REVOKED','reason':'UNBOUND'}", "missing field 'bindId'"),
                Arguments.of("{'type':'BIND_REVOKED','bindId':1,'reason':{}}", "field 'reason' must be a string"),
                // GOAWAY
                Arguments.of("{'type':'GOAWAY','message':'bye'}", "missing field 'code'"),
                Arguments.of("{'type':'GOAWAY','code':1}", "field 'code' must be a string"),
                Arguments.of("{'type':'GOAWAY','code':'NORMAL','message':1}", "field 'message' must be a string"));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("malformed")
    void malformedMessagesAreRejected(String json, String fragment) {
        assertMalformed(q(json), fragment);
    }

    @Test
    void messageOverMaxControlCharsIsRejected() throws Exception {
        String head = "{\"type\":\"PING\",\"ts\":1";
        String atMax = head + " ".repeat(MAX_CONTROL_CHARS - head.length() - 1) + "}";
        assertThat(atMax).hasSize(MAX_CONTROL_CHARS);
        assertThat(ControlCodec.decode(atMax)).isEqualTo(new ControlMessage.Ping(1));

        String over = head + " ".repeat(MAX_CONTROL_CHARS - head.length()) + "}";
        assertThat(over).hasSize(MAX_CONTROL_CHARS + 1);
        assertMalformed(over, "longer than 16384 characters");
        assertMalformed("x".repeat(10 * MAX_CONTROL_CHARS), "longer than 16384 characters");
    }

    @Test
    void stringsLongerThan4096CharactersAreRejected() throws Exception {
        assertThat(ControlCodec.decode("{\"type\":\"BIND_REVOKED\",\"bindId\":1,\"reason\":\"" + "r".repeat(4096) + "\"}"))
                .isEqualTo(new ControlMessage.BindRevoked(1, "r".repeat(4096)));
        assertMalformed("{\"type\":\"BIND_REVOKED\",\"bindId\":1,\"reason\":\"" + "r".repeat(4097) + "\"}", "not JSON");
        // also in a field this version ignores
        assertMalformed("{\"type\":\"PING\",\"pad\":\"" + "p".repeat(5000) + "\"}", "not JSON");
        // and in a key
        assertThat(ControlCodec.decode("{\"type\":\"PING\",\"" + "k".repeat(4096) + "\":1}")).isEqualTo(new ControlMessage.Ping(0));
        assertMalformed("{\"type\":\"PING\",\"" + "k".repeat(4097) + "\":1}", "not JSON");
    }

    /**
     * PROTOCOL.md §3: a string's length is counted in UTF-16 code units of its value after unescaping — what Java and
     * JavaScript call its length — so a character outside the BMP counts 2, and an escape counts as what it stands for.
     */
    @Test
    void stringLengthsCountUtf16CodeUnitsAfterUnescaping() throws Exception {
        String clef = "\uD834\uDD1E"; // one character, two UTF-16 code units, four UTF-8 bytes
        assertThat(ControlCodec.decode("{\"type\":\"BIND_REVOKED\",\"bindId\":1,\"reason\":\"" + clef.repeat(2048) + "\"}"))
                .isEqualTo(new ControlMessage.BindRevoked(1, clef.repeat(2048)));
        assertMalformed("{\"type\":\"BIND_REVOKED\",\"bindId\":1,\"reason\":\"" + clef.repeat(2048) + "x\"}", "not JSON");
        // 2000 escapes of six characters each: 12000 characters of text, 2000 code units of value
        assertThat(ControlCodec.decode("{\"type\":\"BIND_REVOKED\",\"bindId\":1,\"reason\":\"" + "\\u0041".repeat(2000) + "\"}"))
                .isEqualTo(new ControlMessage.BindRevoked(1, "A".repeat(2000)));
        // the message limit counts the text as sent (escapes and all)
        assertMalformed("{\"type\":\"BIND_REVOKED\",\"bindId\":1,\"reason\":\"" + "\\u0041".repeat(2800) + "\"}",
                "longer than 16384 characters");
    }

    /** PROTOCOL.md §3.8: ts is read leniently, within the JSON limits that hold for every number (1000 digits). */
    @Test
    void pingTsIsASigned64BitIntegerAndANumberOver1000DigitsIsMalformed() throws Exception {
        assertThat(ControlCodec.decode("{\"type\":\"PING\",\"ts\":-9223372036854775808}")).isEqualTo(new ControlMessage.Ping(Long.MIN_VALUE));
        assertThat(ControlCodec.decode("{\"type\":\"PING\",\"ts\":9223372036854775808}")).isEqualTo(new ControlMessage.Ping(0));
        assertThat(ControlCodec.decode("{\"type\":\"PING\",\"ts\":" + "9".repeat(1000) + "}")).isEqualTo(new ControlMessage.Ping(0));
        assertMalformed("{\"type\":\"PING\",\"ts\":" + "9".repeat(1001) + "}", "not JSON");
    }

    @Test
    void nestingDeeperThanEightIsRejected() throws Exception {
        // the root object is level 1: 7 more levels are allowed, 8 are not
        assertThat(ControlCodec.decode("{\"type\":\"PING\",\"x\":" + "[".repeat(7) + "]".repeat(7) + "}"))
                .isEqualTo(new ControlMessage.Ping(0));
        assertMalformed("{\"type\":\"PING\",\"x\":" + "[".repeat(8) + "]".repeat(8) + "}", "not JSON");
        assertMalformed("{\"type\":\"PING\",\"x\":" + "{\"a\":".repeat(8) + "1" + "}".repeat(8) + "}", "not JSON");
    }

    @Test
    void deeplyNestedJsonIsRejectedWithoutStackOverflow() {
        int depth = MAX_CONTROL_CHARS / 2 - 20;
        assertMalformed("{\"type\":\"PING\",\"x\":" + "[".repeat(depth) + "]".repeat(depth) + "}", "not JSON");
        assertMalformed("[".repeat(MAX_CONTROL_CHARS), "not JSON"); // unbalanced as well
        assertMalformed("{\"a\":".repeat(MAX_CONTROL_CHARS / 5), "not JSON");
    }

    /** PROTOCOL.md §2/§3: exactly one JSON object per text message. */
    @ParameterizedTest
    @ValueSource(strings = {"{'type':'PING','ts':1} garbage", "{'type':'PING','ts':1}{'type':'GOAWAY','code':'NORMAL'}",
            "{'type':'PING','ts':1}]", "{'type':'PING','ts':1} 42"})
    void trailingContentIsRejected(String json) {
        assertMalformed(q(json));
    }

    /**
     * PROTOCOL.md §3: a duplicate key is malformed. Jackson's default is "last wins", so {@code {"type":"PING",
     * "type":"BIND",...}} used to run as a BIND while a filter reading the first key saw a PING.
     */
    @ParameterizedTest
    @ValueSource(strings = {"{'type':'PING','type':'BIND','ref':'1','kind':'tcp','mode':'pull','port':5432}",
            "{'type':'BIND','ref':'1','kind':'tcp','mode':'pull','port':5432,'port':6379}",
            "{'type':'PING','ts':1,'ts':1}",
            "{'type':'HELLO','version':1,'client':{'name':'a','name':'b'}}",
            "{'type':'HELLO','version':1,'resume':{'sessionId':'s','token':'t','token':'u'}}",
            "{'type':'FUTURE','x':1,'x':2}",
            "{'type':'PING','extra':{'a':1},'extra':null}"})
    void duplicateKeysAreRejected(String json) {
        assertMalformed(q(json), "Duplicate field");
    }

    /** PROTOCOL.md §3 "Types are strict ... booleans must be true/false ... for every known type, including ones only the kit sends". */
    @ParameterizedTest
    @ValueSource(strings = {",'resumed':'true'", ",'resumed':1", ",'resumed':'no'", ""})
    void helloOkResumedMustBeABoolean(String resumed) {
        assertMalformed(q("{'type':'HELLO_OK','sessionId':'s','resumeToken':'t','maxStreams':1,'heartbeatIntervalMs':0,"
                + "'streamWindow':65536,'maxDataBytes':65536" + resumed + "}"));
    }

    /**
     * PROTOCOL.md §3.2: streamWindow ≥ 65536. The codec accepts 1..2^31-1, and DriverSession.onControl then passes the
     * value to {@code new Multiplexer(...)}, which throws IllegalArgumentException on the WebSocket listener thread
     * instead of closing with 1002.
     */
    @Test
    void helloOkStreamWindowBelowOneDataFrameIsRejected() {
        assertMalformed(q("{'type':'HELLO_OK','sessionId':'s','resumeToken':'t','maxStreams':1,'heartbeatIntervalMs':0,"
                + "'streamWindow':65535,'maxDataBytes':65536,'resumed':false}"), "streamWindow");
    }

    // ------------------------------------------------------------------ robustness

    /**
     * 20,000 random or mutated messages (fixed seed): each must decode or be rejected as malformed, nothing else; and
     * whatever decodes (except Unknown) must re-encode to something that decodes to the same message.
     */
    @Test
    void randomAndMutatedMessagesDecodeOrAreRejectedAsMalformed() throws Exception {
        Random rnd = new Random(0xC0FFEE_2024L);
        List<String> seeds = messages().map(ControlCodec::encode).toList();
        Map<String, Integer> outcomes = new HashMap<>();
        for (int i = 0; i < 20_000; i++) {
            String text = switch (rnd.nextInt(6)) {
                case 0 -> mutateChars(seeds.get(rnd.nextInt(seeds.size())), rnd);
                case 1, 2 -> mutateTree(seeds.get(rnd.nextInt(seeds.size())), rnd);
                case 3 -> randomJson(rnd, 0).toString();
                case 4 -> truncate(seeds.get(rnd.nextInt(seeds.size())), rnd);
                default -> randomText(rnd);
            };
            ControlMessage m;
            try {
                m = ControlCodec.decode(text);
            } catch (MalformedMessageException e) {
                assertThat(e.getMessage()).as("message for %s", text).isNotBlank();
                outcomes.merge("malformed", 1, Integer::sum);
                continue;
            } catch (Throwable t) {
                fail("decode threw " + t + " for: " + text, t);
                return;
            }
            assertThat(m).as(text).isNotNull();
            outcomes.merge(m.getClass().getSimpleName(), 1, Integer::sum);
            if (!(m instanceof ControlMessage.Unknown)) {
                String again = ControlCodec.encode(m);
                assertThat(ControlCodec.decode(again)).as("re-encoded %s from %s", again, text).isEqualTo(m);
            }
        }
        assertThat(outcomes.get("malformed")).isGreaterThan(2_000);
        assertThat(outcomes.keySet()).contains("Hello", "HelloOk", "Bind", "BindOk", "BindErr", "Unbind", "BindRevoked",
                "Ping", "Pong", "GoAway", "Unknown");
    }

    private static String mutateChars(String s, Random rnd) {
        StringBuilder b = new StringBuilder(s);
        int edits = 1 + rnd.nextInt(4);
        String alphabet = "{}[]:,\"'\\ 0123456789-+.eEtrufalsn\u0000\u00e9\ud83d\ude00\ud800";
        for (int e = 0; e < edits && !b.isEmpty(); e++) {
            int at = rnd.nextInt(b.length());
            char c = alphabet.charAt(rnd.nextInt(alphabet.length()));
            switch (rnd.nextInt(3)) {
                case 0 -> b.setCharAt(at, c);
                case 1 -> b.insert(at, c);
                default -> b.deleteCharAt(at);
            }
        }
        return b.toString();
    }

    private static String truncate(String s, Random rnd) {
        return s.substring(0, rnd.nextInt(s.length() + 1));
    }

    /** Replaces, removes or adds fields of a valid message with values of random type. */
    private static String mutateTree(String s, Random rnd) throws Exception {
        ObjectNode o = (ObjectNode) JSON.readTree(s);
        List<String> names = fieldNames(o);
        int edits = 1 + rnd.nextInt(2);
        for (int e = 0; e < edits; e++) {
            String name = names.get(rnd.nextInt(names.size()));
            ObjectNode target = o;
            if (o.get(name) instanceof ObjectNode inner && !inner.isEmpty() && rnd.nextBoolean()) {
                target = inner;
                List<String> innerNames = fieldNames(inner);
                name = innerNames.get(rnd.nextInt(innerNames.size()));
            }
            switch (rnd.nextInt(5)) {
                case 0 -> target.remove(name);
                case 1 -> target.putNull(name);
                case 2 -> target.set("extra" + rnd.nextInt(3), randomJson(rnd, 1));
                default -> target.set(name, randomValue(rnd, 1));
            }
        }
        if (rnd.nextInt(10) == 0) {
            o.put("type", List.of("HELLO", "BIND", "PING", "GOAWAY", "BIND_ERR", "X").get(rnd.nextInt(6)));
        }
        return o.toString();
    }

    private static JsonNode randomValue(Random rnd, int depth) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        return switch (rnd.nextInt(depth > 6 ? 12 : 14)) {
            case 0 -> f.numberNode(rnd.nextInt());
            case 1 -> f.numberNode(rnd.nextInt(70_000) - 1000);
            case 2 -> f.numberNode(rnd.nextLong());
            case 3 -> f.numberNode(rnd.nextDouble() * 1e6);
            case 4 -> f.numberNode(new BigInteger(100, rnd));
            case 5 -> f.numberNode(rnd.nextInt(3) - 1);
            case 6 -> f.booleanNode(rnd.nextBoolean());
            case 7 -> f.nullNode();
            case 8 -> f.textNode(randomText(rnd));
            case 9 -> f.textNode(List.of("HELLO", "1", "true", "INTERNAL", "NORMAL", "").get(rnd.nextInt(6)));
            case 10 -> f.textNode("x".repeat(rnd.nextInt(5000)));
            case 11 -> f.numberNode(List.of(0, 1, 255, 256, 65535, 65536, Integer.MAX_VALUE).get(rnd.nextInt(7)));
            default -> randomJson(rnd, depth + 1);
        };
    }

    private static JsonNode randomJson(Random rnd, int depth) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (rnd.nextBoolean()) {
            ObjectNode o = f.objectNode();
            int n = rnd.nextInt(5);
            if (depth == 0 && rnd.nextInt(4) > 0) {
                o.put("type", List.of("HELLO", "HELLO_OK", "BIND", "BIND_OK", "BIND_ERR", "UNBIND", "BIND_REVOKED",
                        "PING", "PONG", "GOAWAY", "NOPE").get(rnd.nextInt(11)));
            }
            String[] keys = {"version", "client", "maxStreams", "resume", "ref", "kind", "mode", "port", "host", "takeover",
                    "bindId", "code", "message", "reason", "ts", "sessionId", "token", "name"};
            for (int i = 0; i < n; i++) {
                o.set(keys[rnd.nextInt(keys.length)], randomValue(rnd, depth + 1));
            }
            return o;
        }
        ArrayNode a = f.arrayNode();
        int n = rnd.nextInt(4);
        for (int i = 0; i < n; i++) {
            a.add(randomValue(rnd, depth + 1));
        }
        return a;
    }

    private static String randomText(Random rnd) {
        int len = rnd.nextInt(40);
        StringBuilder b = new StringBuilder(len);
        for (int i = 0; i < len; i++) {
            b.append(switch (rnd.nextInt(4)) {
                case 0 -> (char) rnd.nextInt(0x80);
                case 1 -> "{}[]\":,".charAt(rnd.nextInt(7));
                case 2 -> (char) rnd.nextInt(0x10000);
                default -> (char) ('a' + rnd.nextInt(26));
            });
        }
        return b.toString();
    }
}
