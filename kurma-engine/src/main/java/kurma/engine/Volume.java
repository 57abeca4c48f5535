package kurma.engine;

/** A host directory bound into the container (Docker's -v SRC:DST[:ro]); both paths absolute. */
public record Volume(String source, String destination, boolean readOnly) {}
