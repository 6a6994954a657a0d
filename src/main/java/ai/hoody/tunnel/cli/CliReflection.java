package ai.hoody.tunnel.cli;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * What picocli reaches by reflection, registered for the native executable: it reads the fields of every command,
 * mixin and superclass that carries {@code @Option}, {@code @Parameters}, {@code @Mixin} or {@code @Spec}, and
 * instantiates commands, mixins, version providers and converters through their no-argument constructors.
 * {@code CommandLine$AutoHelpMixin} is picocli's own mixin behind {@code mixinStandardHelpOptions}.
 *
 * <p>The JVM does not need this list; a native executable does, and nothing would say that an entry is missing until
 * a command failed there. {@code NativeReadinessTest} therefore derives the list from the compiled classes and fails
 * when a class is missing here.
 */
@RegisterForReflection(
        targets = {
                TunnelCli.class,
                TunnelCli.VersionProvider.class,
                KitCommand.class,
                DriverCommand.class,
                DriverOptions.class,
                MoreBindings.class,
                ExposeCommand.class,
                PullCommand.class,
                AdminCommand.class,
                TableCommand.class,
                HealthCommand.class,
                ListCommand.class,
                SessionsCommand.class,
                SessionsListCommand.class,
                SessionsKillCommand.class,
                BindingsCommand.class,
                BindingsListCommand.class,
                MetricsCommand.class,
                KitUrlConverter.class,
        },
        classNames = "picocli.CommandLine$AutoHelpMixin")
final class CliReflection {

    private CliReflection() {
    }
}
