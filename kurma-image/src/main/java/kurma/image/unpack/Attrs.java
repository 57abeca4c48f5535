package kurma.image.unpack;

import java.util.Map;

/**
 * The metadata a layer entry carries besides its kind and content: owner, permission bits
 * (with setuid, setgid and sticky), modification time to the nanosecond, and extended
 * attributes with their raw values (security.capability is binary).
 */
public record Attrs(int uid, int gid, int mode, long mtimeSec, int mtimeNsec, Map<String, byte[]> xattrs) {
    public Attrs {
        mode &= 07777;
        xattrs = Map.copyOf(xattrs);
    }
}
