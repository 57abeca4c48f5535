package kurma.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.spec.Json;

/**
 * What the engine keeps about a container besides the runtime's state: its name, image and
 * command, in {@code <state>/containers/<id>/container.json} beside its bundle. The format is
 * the one bin/kurma has always written, so containers made by an older kurma still list.
 *
 * @param image     the image's name (or the reference it was asked for by, when it has none)
 * @param imageId   the image's id (config digest): an image in use is not removed without force
 * @param command   the argv the container runs (entrypoint + cmd)
 * @param created   an ISO-8601 instant
 * @param chainIds  the snapshots its root filesystem stacks: they survive an image prune
 * @param autoRemove removed once it exits
 */
public record ContainerRecord(String id, String name, String image, String imageId, List<String> command, String created,
        List<String> chainIds, boolean autoRemove) {

    static final String FILE = "container.json";

    public ContainerRecord {
        command = List.copyOf(command);
        chainIds = List.copyOf(chainIds);
    }

    /** Written aside and renamed over the old one: a reader sees a whole record or the previous one. */
    void write(Path dir) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("name", name);
        m.put("image", image);
        m.put("imageId", imageId);
        m.put("command", new ArrayList<Object>(command));
        m.put("created", created);
        m.put("chainIds", new ArrayList<Object>(chainIds));
        m.put("autoRemove", autoRemove);
        Path tmp = dir.resolve(FILE + ".tmp");
        Files.writeString(tmp, Json.writePretty(m));
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** The record in dir, or null if there is none (a container being made or removed). */
    @SuppressWarnings("unchecked")
    static ContainerRecord read(Path dir) {
        try {
            Map<String, Object> m = (Map<String, Object>) Json.parse(Files.readString(dir.resolve(FILE)));
            List<String> cmd = new ArrayList<>();
            for (Object o : (List<Object>) m.get("command")) cmd.add((String) o);
            List<String> chains = new ArrayList<>();
            if (m.get("chainIds") instanceof List<?> l) for (Object o : l) chains.add((String) o);
            return new ContainerRecord((String) m.get("id"), (String) m.get("name"), (String) m.get("image"),
                    (String) m.get("imageId"), cmd, (String) m.get("created"), chains, Boolean.TRUE.equals(m.get("autoRemove")));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
