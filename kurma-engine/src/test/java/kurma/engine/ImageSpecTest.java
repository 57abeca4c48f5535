package kurma.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import kurma.image.ImageConfig;
import kurma.runtime.plan.PlanCompiler;
import kurma.spec.DefaultSpec;
import kurma.spec.Spec;
import kurma.spec.SpecWriter;
import org.junit.jupiter.api.Test;

/** The image config and the options mapped to a Spec, as Docker maps them. */
class ImageSpecTest {
    private static final Users.User ROOT = new Users.User(0, 0, List.of(), "/root");
    private static final Map<String, String> ETC = etc();

    private static Map<String, String> etc() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("/etc/hostname", "/c/hostname");
        m.put("/etc/hosts", "/c/hosts");
        m.put("/etc/resolv.conf", "/c/resolv.conf");
        return m;
    }

    private static ImageConfig image(List<String> entrypoint, List<String> cmd, List<String> env, String workdir,
            Map<String, String> labels) {
        return new ImageConfig("linux", "amd64", null, entrypoint, cmd, env, workdir, null, labels, Set.of(), Set.of(), null,
                List.of(), null);
    }

    private static ImageConfig image(List<String> entrypoint, List<String> cmd) {
        return image(entrypoint, cmd, List.of(), null, Map.of());
    }

    /** Options with only these set (the rest the defaults). */
    private static CreateOptions options(List<String> env, String workdir, List<String> entrypoint, List<String> cmd,
            boolean tty) {
        return new CreateOptions("img", null, null, env, workdir, null, entrypoint, cmd, null, false, null, null, null, tty, null,
                false);
    }

    private static CreateOptions command(List<String> entrypoint, List<String> cmd) {
        return options(null, null, entrypoint, cmd, false);
    }

    private static Spec spec(ImageConfig image, CreateOptions o) {
        return ImageSpec.spec(image, o, "box", ROOT, ETC, Map.of(ImageSpec.NAME_ANNOTATION, "web"), "amd64");
    }

    @Test
    void theCommandIsEntrypointAndCmdAndAGivenEntrypointDropsTheImagesCmd() {
        ImageConfig both = image(List.of("/entry", "-x"), List.of("default", "args"));
        assertEquals(List.of("/entry", "-x", "default", "args"), ImageSpec.args(both, command(null, null)));
        assertEquals(List.of("/entry", "-x", "mine"), ImageSpec.args(both, command(null, List.of("mine"))), "cmd replaces cmd");
        assertEquals(List.of("echo"), ImageSpec.args(both, command(List.of("echo"), null)), "entrypoint drops the image's cmd");
        assertEquals(List.of("echo", "hi"), ImageSpec.args(both, command(List.of("echo"), List.of("hi"))));
        assertEquals(List.of("ls"), ImageSpec.args(both, command(List.of(), List.of("ls"))), "an empty entrypoint: cmd alone");
        assertEquals(List.of("sh"), ImageSpec.args(image(List.of(), List.of("sh")), command(null, null)));
        EngineException none = assertThrows(EngineException.class,
                () -> ImageSpec.args(image(List.of(), List.of()), command(null, null)));
        assertEquals(EngineException.Code.INVALID_ARGUMENT, none.code());
        assertEquals("the image names no command and none was given", none.getMessage());
        assertThrows(EngineException.class, () -> ImageSpec.args(both, command(List.of(), null)), "empty entrypoint, no cmd");
    }

    @Test
    void envIsTheImagesThenTheCallersWithPathHostnameTermAndHome() {
        ImageConfig img = image(List.of(), List.of("sh"), List.of("A=image", "B=image", "NOEQUALS"), null, Map.of());
        List<String> env = ImageSpec.env(img, options(List.of("B=mine", "C=x=y"), null, null, null, true), "box",
                new Users.User(1000, 1000, List.of(), "/home/u"));
        assertEquals(List.of("A=image", "B=mine", ImageSpec.DEFAULT_PATH, "HOSTNAME=box", "C=x=y", "TERM=xterm", "HOME=/home/u"),
                env);

        ImageConfig withPath = image(List.of(), List.of("sh"), List.of("PATH=/opt/bin", "HOME=/srv"), null, Map.of());
        assertEquals(List.of("PATH=/opt/bin", "HOME=/srv", "HOSTNAME=box"),
                ImageSpec.env(withPath, options(null, null, null, null, false), "box", ROOT), "the image's PATH and HOME stay");
        assertEquals(List.of("PATH=/opt/bin", "HOME=/srv", "HOSTNAME=box", "TERM=vt100"),
                ImageSpec.env(withPath, options(List.of("TERM=vt100"), null, null, null, true), "box", ROOT));
        assertEquals(List.of(ImageSpec.DEFAULT_PATH, "HOSTNAME=box", "HOME=/"),
                ImageSpec.env(image(List.of(), List.of("sh")), options(null, null, null, null, false), "box",
                        new Users.User(4242, 0, List.of(), null)), "a user without an entry: HOME=/");

        EngineException bad = assertThrows(EngineException.class,
                () -> ImageSpec.env(img, options(List.of("JUSTANAME"), null, null, null, false), "box", ROOT));
        assertEquals(EngineException.Code.INVALID_ARGUMENT, bad.code());
        assertEquals("env: \"JUSTANAME\" is not NAME=VALUE", bad.getMessage());
    }

    @Test
    void theWorkingDirIsTheCallersElseTheImagesElseRootAndAbsolute() {
        ImageConfig img = image(List.of(), List.of("sh"), List.of(), "/app", Map.of());
        assertEquals("/app", ImageSpec.cwd(img, options(null, null, null, null, false)));
        assertEquals("/tmp", ImageSpec.cwd(img, options(null, "/tmp", null, null, false)));
        assertEquals("/", ImageSpec.cwd(image(List.of(), List.of("sh")), options(null, null, null, null, false)));
        EngineException rel = assertThrows(EngineException.class, () -> ImageSpec.cwd(img, options(null, "tmp", null, null, false)));
        assertEquals("the working directory must be absolute, got \"tmp\"", rel.getMessage());
        ImageConfig relativeImage = image(List.of(), List.of("sh"), List.of(), "app", Map.of());
        assertThrows(EngineException.class, () -> ImageSpec.cwd(relativeImage, options(null, null, null, null, false)));
    }

    @Test
    void theProcessGetsTheUserDockersCapabilitiesAndNoRlimitsOrNoNewPrivileges() {
        Spec s = ImageSpec.spec(image(List.of(), List.of("sh")), options(null, null, null, null, false), "box",
                new Users.User(1000, 100, List.of(10L, 20L), "/home/u"), ETC, Map.of(), "amd64");
        Spec.Process p = s.process();
        assertEquals(new Spec.User(1000, 100, null, List.of(10L, 20L)), p.user());
        assertEquals(ImageSpec.DOCKER_CAPS, p.capabilities().bounding());
        assertEquals(ImageSpec.DOCKER_CAPS, p.capabilities().effective());
        assertEquals(ImageSpec.DOCKER_CAPS, p.capabilities().permitted());
        assertNull(p.capabilities().inheritable());
        assertNull(p.capabilities().ambient());
        assertEquals(14, ImageSpec.DOCKER_CAPS.size());
        assertFalse(ImageSpec.DOCKER_CAPS.contains("CAP_SYS_ADMIN"));
        assertFalse(p.noNewPrivileges(), "setuid programs of the image work");
        assertEquals(List.of(), p.rlimits());
        assertFalse(p.terminal());
        assertTrue(spec(image(List.of(), List.of("sh")), options(null, null, null, null, true)).process().terminal());
    }

    @Test
    void labelsBecomeAnnotationsBesideTheNameAndLoopback() {
        ImageConfig img = image(List.of(), List.of("sh"), List.of(), null, Map.of("org.example.version", "1.2"));
        Map<String, String> ann = spec(img, options(null, null, null, null, false)).annotations();
        assertEquals(Map.of("org.example.version", "1.2", ImageSpec.NAME_ANNOTATION, "web", PlanCompiler.LOOPBACK_ANNOTATION, "up"),
                ann);
    }

    @Test
    void networkNoneIsANewNamespaceWithLoopbackUpAndHostIsTheHosts() {
        ImageConfig img = image(List.of(), List.of("sh"));
        Spec none = spec(img, options(null, null, null, null, false));
        assertTrue(none.linux().namespace("network") != null);
        Spec host = spec(img, new CreateOptions("img", null, null, null, null, null, null, null, null, false,
                CreateOptions.Network.HOST, null, null, false, null, false));
        assertNull(host.linux().namespace("network"), "the host's network namespace");
        assertFalse(host.annotations().containsKey(PlanCompiler.LOOPBACK_ANNOTATION));
        List<String> others = new ArrayList<>();
        for (Spec.Namespace n : host.linux().namespaces()) others.add(n.type());
        assertEquals(List.of("pid", "ipc", "uts", "mount", "cgroup"), others, "every other namespace stays the container's own");
    }

    @Test
    void theEtcFilesAndVolumesAreBindMountsAfterTheDefaultOnes() {
        CreateOptions o = new CreateOptions("img", null, null, null, null, null, null, null,
                List.of(new Volume("/srv/data", "/data", true), new Volume("/srv/rw", "/rw", false)), true, null, null, null, false,
                null, false);
        Spec s = spec(image(List.of(), List.of("sh")), o);
        int defaults = Spec.parse(DefaultSpec.JSON).mounts().size();
        List<Spec.Mount> mine = s.mounts().subList(defaults, s.mounts().size());
        assertEquals(List.of(new Spec.Mount("/etc/hostname", "bind", "/c/hostname", List.of("rbind", "rprivate")),
                new Spec.Mount("/etc/hosts", "bind", "/c/hosts", List.of("rbind", "rprivate")),
                new Spec.Mount("/etc/resolv.conf", "bind", "/c/resolv.conf", List.of("rbind", "rprivate")),
                new Spec.Mount("/data", "bind", "/srv/data", List.of("rbind", "rprivate", "ro")),
                new Spec.Mount("/rw", "bind", "/srv/rw", List.of("rbind", "rprivate"))), mine);
        assertEquals(new Spec.Root("rootfs", true), s.root(), "--read-only");
        assertEquals("box", s.hostname());
        assertEquals(new Spec.Root("rootfs", false), spec(image(List.of(), List.of("sh")), options(null, null, null, null, false)).root());
    }

    @Test
    void limitsGoIntoResourcesBesideTheDeviceRule() {
        CreateOptions o = new CreateOptions("img", null, null, null, null, null, null, null, null, false, null, 64L << 20, 20L,
                false, null, false);
        Map<String, Object> r = spec(image(List.of(), List.of("sh")), o).linux().resources();
        assertEquals(Map.of("limit", 64L << 20), r.get("memory"));
        assertEquals(Map.of("limit", 20L), r.get("pids"));
        assertEquals(Spec.parse(DefaultSpec.JSON).linux().resources().get("devices"), r.get("devices"), "no device but the defaults");
        Map<String, Object> none = spec(image(List.of(), List.of("sh")), options(null, null, null, null, false)).linux().resources();
        assertFalse(none.containsKey("memory") || none.containsKey("pids"), "no limit unless asked for");
    }

    @Test
    void theDefaultSeccompProfileForTheHostsArchitecturesUnlessUnconfined() {
        ImageConfig img = image(List.of(), List.of("sh"));
        Map<String, Object> amd64 = spec(img, options(null, null, null, null, false)).linux().seccomp();
        assertEquals("SCMP_ACT_ALLOW", amd64.get("defaultAction"));
        assertEquals(List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"), amd64.get("architectures"));
        List<String> denied = new ArrayList<>();
        for (Object rule : (List<?>) amd64.get("syscalls")) {
            Map<?, ?> r = (Map<?, ?>) rule;
            if (r.get("errnoRet").equals(1L) && r.get("args") == null) for (Object n : (List<?>) r.get("names")) denied.add((String) n);
        }
        for (String call : List.of("mount", "unshare", "setns", "keyctl", "bpf", "init_module", "kexec_load", "pivot_root")) {
            assertTrue(denied.contains(call), call);
        }
        assertFalse(denied.contains("clone"), "clone is filtered by its flags only");

        Map<String, Object> arm = ImageSpec.spec(img, options(null, null, null, null, false), "box", ROOT, ETC, Map.of(), "arm64")
                .linux().seccomp();
        assertEquals(List.of("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"), arm.get("architectures"));

        Spec unconfined = spec(img, new CreateOptions("img", null, null, null, null, null, null, null, null, false, null, null,
                null, false, CreateOptions.Seccomp.UNCONFINED, false));
        assertEquals(Map.of(), unconfined.linux().seccomp(), "no filter");
    }

    @Test
    void whatTheEngineWritesIsWhatTheRuntimeReads() {
        ImageConfig img = image(List.of("/bin/sh", "-c"), List.of("echo \"$A\""), List.of("A=1"), "/w", Map.of("l", "v"));
        CreateOptions o = new CreateOptions("img", "web", "box", List.of("B=2"), null, null, null, null,
                List.of(new Volume("/srv", "/srv", true)), true, null, 1L << 30, 5L, true, null, true);
        Spec s = ImageSpec.spec(img, o, "box", new Users.User(7, 8, List.of(9L), null), ETC, Map.of(ImageSpec.NAME_ANNOTATION, "web"),
                "amd64");
        // config.json is built in memory and written once: the runtime parses that text back into the same records.
        assertEquals(s, Spec.parse(SpecWriter.write(s)));
    }
}
