package ai.hoody.tunnel.support;

import io.restassured.RestAssured;
import io.restassured.specification.RequestSpecification;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * Admin API calls as an operator makes them: with the admin token of the test profile
 * ({@code %test.hoody.tunnel.admin.token} in application.properties). Use {@link #given()} instead of RestAssured's.
 */
public final class Admin {

    private Admin() {
    }

    /** The first token the test kit accepts. */
    public static String token() {
        return ConfigProvider.getConfig().getValues("hoody.tunnel.admin.token", String.class).getFirst();
    }

    public static RequestSpecification given() {
        return RestAssured.given().header("Authorization", "Bearer " + token());
    }
}
