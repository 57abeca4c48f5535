package kurma.spec;

/**
 * config.json is well-formed JSON but not a valid or supported OCI configuration.
 * The message is one line that names the offending field.
 */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
