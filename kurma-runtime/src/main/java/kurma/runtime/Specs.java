package kurma.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import kurma.runtime.KurmaException.Code;
import kurma.runtime.plan.PlanCompiler;
import kurma.spec.ConfigException;
import kurma.spec.JsonException;
import kurma.spec.Quote;
import kurma.spec.Spec;

/** A bundle's config.json read and checked, and its seccomp filter compiled. */
final class Specs {
    private Specs() {}

    static Spec load(Path bundle) {
        Path config = bundle.resolve("config.json");
        String text;
        try {
            text = kurma.spec.Json.utf8(Files.readAllBytes(config), "config.json");
        } catch (NoSuchFileException e) {
            throw new KurmaException(Code.INVALID_CONFIG, "bundle " + Quote.cut(bundle.toString()) + " has no config.json");
        } catch (IOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, "cannot read " + Quote.cut(config.toString()) + ": " + e.getMessage(), e);
        } catch (JsonException e) {
            throw new KurmaException(Code.INVALID_CONFIG, e.getMessage(), e); // config.json is not valid UTF-8 (at byte offset N)
        }
        try {
            return Spec.parse(text);
        } catch (JsonException e) {
            throw new KurmaException(Code.INVALID_CONFIG, "config.json is not valid JSON: " + e.getMessage(), e);
        } catch (ConfigException e) {
            throw invalid(e);
        }
    }

    /** A config error, worded as one in config.json. */
    static KurmaException invalid(RuntimeException e) {
        return new KurmaException(Code.INVALID_CONFIG, "config.json: " + e.getMessage(), e);
    }

    /** The config's seccomp filter, compiled (or from the cache in cacheDir), or null. */
    static PlanCompiler.Seccomp seccomp(Spec spec, Path cacheDir) {
        kurma.seccomp.Profile profile;
        try {
            profile = kurma.seccomp.Profile.parse(spec.linux().seccomp());
        } catch (IllegalArgumentException e) {
            throw invalid(e);
        }
        if (profile == null) return null;
        try {
            byte[] program = kurma.seccomp.Seccomp.program(profile, spec.linux().seccomp(), cacheDir);
            return new PlanCompiler.Seccomp(program, profile.flags());
        } catch (IllegalArgumentException e) {
            throw invalid(e);
        } catch (IllegalStateException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, "compiling the seccomp filter: " + e.getMessage(), e);
        }
    }
}
