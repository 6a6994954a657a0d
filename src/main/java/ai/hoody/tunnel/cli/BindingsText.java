package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.kit.admin.BindingInfo;

import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;

/** A session's bindings in one table cell; {@code -} when there are none. */
final class BindingsText {

    private BindingsText() {
    }

    /** e.g. {@code expose:3000#1 pull:5432#2}: mode, container port and bind id of each. */
    static String of(List<BindingInfo> bindings) {
        return join(bindings, b -> b.mode() + ":" + b.containerPort() + "#" + b.bindId(), " ");
    }

    /** e.g. {@code 3000,8080}: the container ports, where the mode is the column's. */
    static String ports(List<BindingInfo> bindings) {
        return join(bindings, b -> Integer.toString(b.containerPort()), ",");
    }

    private static String join(List<BindingInfo> bindings, Function<BindingInfo, String> text, String separator) {
        return bindings == null || bindings.isEmpty() ? "-" : bindings.stream().map(text).collect(Collectors.joining(separator));
    }
}
