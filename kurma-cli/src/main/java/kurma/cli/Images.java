package kurma.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import kurma.engine.Engine;
import kurma.image.Descriptor;
import kurma.image.Digest;
import kurma.image.Image;
import kurma.image.ImageException;
import kurma.image.Platform;
import kurma.image.Progress;
import kurma.image.TerminalProgress;
import kurma.image.archive.ArchiveFormat;
import kurma.image.ref.ImageReference;
import kurma.image.registry.Credentials;
import kurma.image.registry.RegistryOptions;
import kurma.image.snapshot.Snapshots;
import kurma.image.store.GcResult;
import kurma.image.store.ImageStore;
import kurma.spec.Json;

/** kurma image pull|ls|rm|inspect|import|export|prune, over the image library's store. */
final class Images {
    private final Engine engine;
    private final PrintStream out;
    private final PrintStream err;

    Images(Engine engine, PrintStream out, PrintStream err) {
        this.engine = engine;
        this.out = out;
        this.err = err;
    }

    /** The engine's store: one per process, opened by the first command that needs it. */
    ImageStore store() {
        return engine.images();
    }

    private Progress progress() {
        return System.console() != null ? new TerminalProgress(err) : Progress.lines(err::println);
    }

    static final String[] PULL_VALUED = {"platform", "creds", "authfile"};
    static final String[] PULL_SWITCHES = {"tls-verify", "quiet|q"};

    private RegistryOptions registryOptions(Flags f) {
        RegistryOptions o = RegistryOptions.defaults().withTlsVerify(f.bool("tls-verify", true));
        if (!f.has("quiet")) o = o.withProgress(progress());
        if (f.value("platform") != null) o = o.withPlatform(platform(f.value("platform")));
        if (f.value("creds") != null) o = o.withCredentials(Credentials.parse(f.value("creds")));
        if (f.value("authfile") != null) o = o.withAuthFiles(List.of(Path.of(f.value("authfile"))));
        return o;
    }

    private static Platform platform(String p) {
        try {
            return Platform.parse(p);
        } catch (ImageException | IllegalArgumentException e) {
            throw new UsageException("--platform takes os/arch[/variant], got \"" + p + "\"");
        }
    }

    int pull(Flags f) {
        f.expect(1, 1, "kurma image pull [--platform os/arch] [--creds user:pass] [--tls-verify=false] IMAGE");
        Image image = store().pull(f.positional.getFirst(), registryOptions(f));
        out.println(image.id());
        return 0;
    }

    /** An image run asked for that is not in the store, pulled (docker run does the same). */
    Image pullMissing(String ref, String platform) {
        err.println("Unable to find image '" + ref + "' locally");
        RegistryOptions o = RegistryOptions.defaults().withProgress(progress());
        if (platform != null) o = o.withPlatform(platform(platform));
        return store().pull(ref, o);
    }

    int ls(Flags f) {
        f.expect(0, 0, "kurma image ls [-q]");
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
        Set<String> ids = new HashSet<>();
        for (Image i : store().list()) {
            String repo = "<none>", tag = "<none>";
            if (i.name() != null) {
                ImageReference r = ImageReference.parse(i.name());
                repo = !r.registry().equals("docker.io") ? r.name()
                        : r.repository().startsWith("library/") ? r.repository().substring(8) : r.repository();
                tag = r.tag() != null ? r.tag() : "<none>";
            }
            String id = i.id().hex().substring(0, 12);
            if (f.has("quiet")) {
                if (ids.add(id)) out.println(id);
                continue;
            }
            long size = 0;
            for (Descriptor d : i.layers()) size += d.size();
            rows.add(new String[] {repo, tag, id, i.imageConfig().created() == null ? "" : ContainerCommands.ago(i.imageConfig().created()),
                human(size)});
        }
        if (!f.has("quiet")) Table.print(out, rows);
        return 0;
    }

    static String human(long bytes) {
        if (bytes < 1000) return bytes + "B";
        if (bytes < 1_000_000) return String.format("%.1fkB", bytes / 1e3);
        if (bytes < 1_000_000_000) return String.format("%.1fMB", bytes / 1e6);
        return String.format("%.2fGB", bytes / 1e9);
    }

    int rm(Flags f, Set<String> usedImageIds) {
        if (f.positional.isEmpty()) throw new UsageException("usage: kurma image rm [-f] IMAGE...");
        for (String name : f.positional) {
            Image i = store().resolve(name);
            if (usedImageIds.contains(i.id().toString()) && !f.has("force")) {
                throw new CmdException("image " + name + " is used by a container; remove the container first or use --force");
            }
            for (String removed : store().remove(name)) out.println("Untagged: " + removed);
        }
        return 0;
    }

    int inspect(Flags f) {
        if (f.positional.isEmpty()) throw new UsageException("usage: kurma image inspect IMAGE...");
        List<Object> all = new ArrayList<>();
        for (String name : f.positional) {
            Image i = store().resolve(name);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Id", i.id().toString());
            m.put("Name", i.name());
            m.put("ManifestDigest", i.manifestDigest().toString());
            m.put("Created", i.imageConfig().created());
            m.put("Os", i.imageConfig().os());
            m.put("Architecture", i.imageConfig().architecture());
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("Entrypoint", new ArrayList<Object>(i.imageConfig().entrypoint()));
            c.put("Cmd", new ArrayList<Object>(i.imageConfig().cmd()));
            c.put("Env", new ArrayList<Object>(i.imageConfig().env()));
            c.put("WorkingDir", i.imageConfig().workingDir());
            c.put("User", i.imageConfig().user());
            c.put("Labels", new LinkedHashMap<String, Object>(i.imageConfig().labels()));
            m.put("Config", c);
            List<Object> layers = new ArrayList<>();
            for (Digest d : i.diffIds()) layers.add(d.toString());
            m.put("RootFS", Map.of("Type", "layers", "Layers", layers));
            all.add(m);
        }
        out.println(Json.writePretty(all));
        return 0;
    }

    int importArchive(Flags f) {
        f.expect(1, 2, "kurma image import FILE [NAME]");
        String base = f.positional.size() == 2 ? f.positional.get(1) : null;
        Platform p = f.value("platform") != null ? platform(f.value("platform")) : Platform.host();
        for (Image i : store().importArchive(Path.of(f.positional.getFirst()), base, p, Progress.NONE)) {
            out.println("Loaded image: " + (i.name() != null ? i.name() : i.id().toString()));
        }
        return 0;
    }

    int export(Flags f) {
        if (f.positional.isEmpty() || f.value("output") == null) {
            throw new UsageException("usage: kurma image export -o FILE [--format docker-archive|oci-archive] IMAGE...");
        }
        String fmt = f.value("format") == null ? "docker-archive" : f.value("format");
        ArchiveFormat format = switch (fmt) {
            case "docker-archive" -> ArchiveFormat.DOCKER_ARCHIVE;
            case "oci-archive" -> ArchiveFormat.OCI_ARCHIVE;
            default -> throw new UsageException("--format takes docker-archive or oci-archive, got \"" + fmt + "\"");
        };
        store().exportArchive(f.positional, Path.of(f.value("output")), format);
        return 0;
    }

    /** Unreferenced blobs, and snapshots neither a named image nor a container uses. */
    int prune(Flags f, Set<String> containerChainIds) {
        f.expect(0, 0, "kurma image prune");
        Snapshots snapshots;
        try {
            snapshots = new Snapshots(engine.config().stateDir());
        } catch (java.io.IOException e) {
            throw new CmdException("image prune: " + e.getMessage());
        }
        List<String> removedSnapshots = new ArrayList<>();
        GcResult r = store().gc(live -> {
            Set<String> keep = new HashSet<>(containerChainIds);
            for (Digest d : live.chainIds()) keep.add(d.toString());
            try {
                removedSnapshots.addAll(snapshots.retainOnly(keep).removedSnapshots());
            } catch (java.io.IOException e) {
                throw new CmdException("image prune: snapshots: " + e.getMessage());
            }
        });
        out.println("Deleted blobs: " + r.removedBlobs().size() + " (" + human(r.freedBytes()) + "), snapshots: "
                + removedSnapshots.size());
        return 0;
    }
}
