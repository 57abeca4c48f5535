package kurma.image.unpack;

import java.io.IOException;

/**
 * A layer that cannot be unpacked: an entry that would escape its root, a broken or
 * oversized stream, a digest that does not match. The message is one sentence for the user.
 */
public final class LayerException extends IOException {
    public LayerException(String message) {
        super(message);
    }

    public LayerException(String message, Throwable cause) {
        super(message, cause);
    }
}
