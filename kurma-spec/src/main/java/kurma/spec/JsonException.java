package kurma.spec;

/** A JSON text is not well-formed; the message names the position. */
public final class JsonException extends RuntimeException {
    public JsonException(String message) {
        super(message);
    }
}
