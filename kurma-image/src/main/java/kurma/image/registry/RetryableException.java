package kurma.image.registry;

import java.io.IOException;

/** A registry answer worth another try (5xx, 429): an IOException like a broken connection. */
final class RetryableException extends IOException {
    RetryableException(String message) {
        super(message);
    }
}
