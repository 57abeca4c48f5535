package kurma.image.unpack;

/**
 * One change a layer makes, read from a tar or from a snapshot directory, with its path
 * already checked and normalized: relative to the layer root, components separated by '/',
 * no ".", "..", or empty components; "" is the root itself.
 */
public sealed interface Entry {
    String path();

    record Directory(String path, Attrs attrs) implements Entry {}

    record RegularFile(String path, Attrs attrs, long size) implements Entry {}

    record Symlink(String path, Attrs attrs, String target) implements Entry {}

    /** A hard link to {@code target}, an entry of the same layer (normalized like a path). */
    record HardLink(String path, String target) implements Entry {}

    /** A character or block device, or a fifo (major and minor are 0 for a fifo). */
    record Device(String path, Attrs attrs, Kind kind, int major, int minor) implements Entry {
        public enum Kind { CHAR, BLOCK, FIFO }
    }

    /** {@code path} is deleted by this layer (tar: {@code .wh.NAME}). */
    record Whiteout(String path) implements Entry {}

    /** The directory {@code path} hides what lower layers have in it (tar: {@code .wh..wh..opq}). */
    record Opaque(String path) implements Entry {}
}
