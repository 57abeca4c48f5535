package kurma.runtime;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import kurma.runtime.plan.Op;
import kurma.runtime.plan.Plan;
import kurma.runtime.plan.PlanCompiler;
import kurma.spec.Json;
import kurma.spec.Spec;

/**
 * The hooks that run in the runtime's namespaces (prestart, createRuntime, poststart,
 * poststop). They are executed by stage2 too, in a plan of their own: a hook's argv[0] may
 * differ from its path (Docker's hooks dispatch on it), which ProcessBuilder cannot express.
 */
final class Hooks {
    private Hooks() {}

    /** Runs the hooks in order with the state on their stdin; the first failure throws. */
    static void run(java.nio.file.Path stage2, String kind, List<Spec.Hook> hooks, byte[] state) {
        if (hooks.isEmpty()) return;
        Plan plan = new Plan();
        plan.add("hand the state to the " + kind + " hooks", Op.SYNC, 0L);
        for (Spec.Hook h : hooks) PlanCompiler.addHook(plan, kind, h);
        Stage2.spawn(stage2).runToEnd(plan, state);
    }

    /** The state a hook reads: the OCI state of the container at that moment. */
    static byte[] state(String id, Status status, int pid, String bundle, Map<String, String> annotations) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("ociVersion", ContainerState.OCI_VERSION);
        m.put("id", id);
        m.put("status", status.text());
        m.put("pid", (long) pid);
        m.put("bundle", bundle);
        m.put("annotations", new java.util.LinkedHashMap<Object, Object>(annotations));
        return Json.write(m).getBytes(StandardCharsets.UTF_8);
    }
}
