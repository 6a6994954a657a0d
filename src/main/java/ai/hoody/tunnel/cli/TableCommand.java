package ai.hoody.tunnel.cli;

import picocli.CommandLine.Option;

import java.io.PrintWriter;

/**
 * An admin command whose answer is JSON: printed as a readable table, or unchanged with {@code --json} (what scripts
 * should parse: the table's layout may change, the kit's JSON fields do not).
 */
abstract class TableCommand extends AdminCommand {

    @Option(names = "--json", description = "Print the kit's JSON answer unchanged, for scripts.")
    boolean json;

    @Override
    final void run(AdminClient client, PrintWriter out) throws KitErrorException, KitUnreachableException {
        String body = fetch(client);
        if (json) {
            out.println(body);
        } else {
            render(body, out);
        }
    }

    @Override
    final boolean printsJson() {
        return json;
    }

    /** @return the kit's JSON answer */
    abstract String fetch(AdminClient client) throws KitErrorException, KitUnreachableException;

    abstract void render(String body, PrintWriter out) throws KitErrorException;
}
