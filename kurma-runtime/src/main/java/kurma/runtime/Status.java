package kurma.runtime;

/** The OCI container statuses Kurma reports. */
public enum Status {
    CREATING("creating"),
    CREATED("created"),
    RUNNING("running"),
    PAUSED("paused"),
    STOPPED("stopped");

    private final String text;

    Status(String text) {
        this.text = text;
    }

    public String text() {
        return text;
    }
}
