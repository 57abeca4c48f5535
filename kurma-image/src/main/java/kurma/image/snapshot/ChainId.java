package kurma.image.snapshot;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Chain IDs (OCI image-spec, config.md): ChainID(L0) = DiffID(L0), ChainID(Ln) =
 * sha256(ChainID(Ln-1) + " " + DiffID(Ln)). A snapshot is keyed by the chain ID of its layer,
 * not by the layer's own digest, because in overlay form a layer's snapshot only means
 * something on top of exactly the layers below it.
 */
public final class ChainId {
    private ChainId() {}

    /** The chain ID of a layer with {@code diffId} over the chain {@code parent} (null for the bottom layer). */
    public static String of(String parent, String diffId) {
        check(diffId, "diff_id");
        if (parent == null) return diffId;
        check(parent, "chain ID");
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest((parent + " " + diffId).getBytes(StandardCharsets.UTF_8));
            return "sha256:" + HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The chain IDs of an image's layers, bottom to top, from their diff_ids. */
    public static List<String> of(List<String> diffIds) {
        List<String> out = new ArrayList<>();
        String parent = null;
        for (String d : diffIds) {
            parent = of(parent, d);
            out.add(parent);
        }
        return out;
    }

    /** The hex part of a sha256 chain ID (the snapshot's directory name). */
    static String hex(String chainId) {
        check(chainId, "chain ID");
        return chainId.substring(7);
    }

    static boolean isHex64(String s) {
        if (s.length() != 64) return false;
        for (int i = 0; i < 64; i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
        }
        return true;
    }

    /**
     * Snapshots are named by sha256 chain IDs; a sha512 diff_id (allowed by the spec, never
     * seen) would need another layout, so it is refused rather than mis-filed.
     */
    private static void check(String id, String what) {
        if (id == null || !id.startsWith("sha256:") || !isHex64(id.substring(7))) {
            throw new IllegalArgumentException(what + " " + id + " is not a sha256 digest (sha256:<64 hex digits>)");
        }
    }
}
