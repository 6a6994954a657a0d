package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.driver.KitUrl;
import picocli.CommandLine;

import java.net.URI;

/** Lets picocli read an admin command's {@code --kit} with {@link KitUrl} and report a bad one as a usage error (exit 2). */
final class KitUrlConverter implements CommandLine.ITypeConverter<URI> {
    @Override
    public URI convert(String value) {
        try {
            return KitUrl.parse(value).base();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
