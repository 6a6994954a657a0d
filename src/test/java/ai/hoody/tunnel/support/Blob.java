package ai.hoody.tunnel.support;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;

/** Deterministic test bytes: byte i of the blob is a function of i, so any range can be produced and checked. */
public final class Blob {

    private Blob() {
    }

    public static byte[] bytes(long offset, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            long x = offset + i;
            b[i] = (byte) ((x * 2654435761L) >>> 13 ^ x >>> 7);
        }
        return b;
    }

    /** The index of the first byte of {@code got} that is not the blob's byte at {@code offset} + index; -1 if none. */
    public static int mismatch(byte[] got, long offset) {
        return Arrays.mismatch(got, bytes(offset, got.length));
    }

    public static String sha256(long size) {
        MessageDigest md = Digests.sha256();
        for (long off = 0; off < size; off += 1 << 20) {
            md.update(bytes(off, (int) Math.min(1 << 20, size - off)));
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
