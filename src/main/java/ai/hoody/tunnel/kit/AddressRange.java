package ai.hoody.tunnel.kit;

import java.net.InetAddress;
import java.util.Arrays;

/**
 * One entry of {@code hoody.tunnel.admin.trusted-proxies} (the admin guard's, and how the kit tells a driver's real
 * address behind the proxy): an IP address ({@code 10.1.2.3}, {@code fd00::7}) or a
 * CIDR block ({@code 10.0.0.0/8}, {@code fd00::/8}). Literal addresses only: a host name would make the guard depend
 * on DNS. An IPv4 range does not match IPv6 peers, except IPv4-mapped ones ({@code ::ffff:10.1.2.3}). Immutable.
 * (A class, not a record: its address is an array, and the admin package's records are its JSON types.)
 */
public final class AddressRange {

    private final byte[] network;
    private final int prefixBits;
    private final String text;

    private AddressRange(byte[] network, int prefixBits, String text) {
        this.network = network;
        this.prefixBits = prefixBits;
        this.text = text;
    }

    /** @throws IllegalArgumentException saying what is wrong with {@code spec} */
    public static AddressRange parse(String spec) {
        String s = spec.strip();
        int slash = s.indexOf('/');
        String address = slash < 0 ? s : s.substring(0, slash);
        InetAddress ip = null;
        // IPv4 as four decimal parts only: the JDK also reads "10.1" as 10.0.0.1, which no one means in a CIDR block.
        if (address.contains(":") || address.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            try {
                ip = InetAddress.ofLiteral(address);
            } catch (IllegalArgumentException e) {
                ip = null;
            }
        }
        if (ip == null) {
            throw new IllegalArgumentException("'" + s + "' is not an IP address or a CIDR block (e.g. 10.0.0.0/8, fd00::/8)");
        }
        byte[] bytes = ip.getAddress();
        int max = bytes.length * 8;
        int bits = max;
        if (slash >= 0) {
            String digits = s.substring(slash + 1);
            if (digits.isEmpty() || digits.length() > 3 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')
                    || Integer.parseInt(digits) > max) {
                throw new IllegalArgumentException("'" + s + "': the prefix length must be 0.." + max);
            }
            bits = Integer.parseInt(digits);
        }
        return new AddressRange(mask(bytes, bits), bits, s);
    }

    public boolean contains(InetAddress peer) {
        byte[] a = peer.getAddress();
        if (a.length == 16 && network.length == 4 && isIpv4Mapped(a)) {
            a = Arrays.copyOfRange(a, 12, 16);
        }
        return a.length == network.length && Arrays.equals(mask(a, prefixBits), network);
    }

    private static boolean isIpv4Mapped(byte[] a) {
        for (int i = 0; i < 10; i++) {
            if (a[i] != 0) {
                return false;
            }
        }
        return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
    }

    private static byte[] mask(byte[] address, int bits) {
        byte[] m = address.clone();
        for (int i = 0; i < m.length; i++) {
            int keep = Math.clamp(bits - i * 8L, 0, 8);
            m[i] &= (byte) (0xff00 >>> keep);
        }
        return m;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AddressRange r && r.prefixBits == prefixBits && Arrays.equals(r.network, network);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(network) + prefixBits;
    }

    @Override
    public String toString() {
        return text;
    }
}
