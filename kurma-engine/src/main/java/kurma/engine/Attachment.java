package kurma.engine;

import kurma.runtime.ContainerRuntime;
import kurma.runtime.CreateRequest;

/**
 * How a container is run attached to whoever asked ({@link Engine#runAttached}): creates,
 * starts, waits for and deletes the request's container, and returns its exit code. A command
 * line passes kurma-foreground's (its own stdio, its signals passed on, a terminal relayed); a
 * daemon its clients' streams.
 */
public interface Attachment {
    int run(ContainerRuntime runtime, CreateRequest request);
}
