package kurma.image.registry;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import kurma.image.Platform;
import kurma.image.Progress;

/**
 * How to talk to registries: what {@code --creds}, {@code --tls-verify}, {@code --plain-http}
 * and {@code --platform} set, and the transfer knobs.
 *
 * @param credentials explicit credentials (they override the auth files), or null
 * @param authFiles   files searched for credentials, first match wins
 * @param tlsVerify   false: accept any certificate, and fall back to plain HTTP
 * @param plainHttp   true: plain HTTP only (registries on loopback fall back to it anyway)
 * @param platform    which manifest of an index to take
 * @param parallel    blobs transferred at once
 * @param retries     further attempts of a blob or manifest after a network or server error
 * @param timeout     for connecting and for the response headers of each request
 */
public record RegistryOptions(Credentials credentials, List<Path> authFiles, boolean tlsVerify, boolean plainHttp,
                              Platform platform, int parallel, int retries, Duration timeout, Progress progress) {

    public RegistryOptions {
        authFiles = List.copyOf(authFiles);
        if (parallel < 1) parallel = 1;
        if (retries < 0) retries = 0;
        if (progress == null) progress = Progress.NONE;
        if (platform == null) platform = Platform.host();
    }

    /** Defaults: auth files of this user, TLS verified, host platform, 3 blobs at once, 3 retries. */
    public static RegistryOptions defaults() {
        return new RegistryOptions(null, Credentials.defaultAuthFiles(), true, false, Platform.host(), 3, 3,
                Duration.ofSeconds(60), Progress.NONE);
    }

    public RegistryOptions withCredentials(Credentials c) {
        return new RegistryOptions(c, authFiles, tlsVerify, plainHttp, platform, parallel, retries, timeout, progress);
    }

    public RegistryOptions withAuthFiles(List<Path> files) {
        return new RegistryOptions(credentials, files, tlsVerify, plainHttp, platform, parallel, retries, timeout, progress);
    }

    public RegistryOptions withTlsVerify(boolean v) {
        return new RegistryOptions(credentials, authFiles, v, plainHttp, platform, parallel, retries, timeout, progress);
    }

    public RegistryOptions withPlainHttp(boolean v) {
        return new RegistryOptions(credentials, authFiles, tlsVerify, v, platform, parallel, retries, timeout, progress);
    }

    public RegistryOptions withPlatform(Platform p) {
        return new RegistryOptions(credentials, authFiles, tlsVerify, plainHttp, p, parallel, retries, timeout, progress);
    }

    public RegistryOptions withParallel(int n) {
        return new RegistryOptions(credentials, authFiles, tlsVerify, plainHttp, platform, n, retries, timeout, progress);
    }

    public RegistryOptions withRetries(int n) {
        return new RegistryOptions(credentials, authFiles, tlsVerify, plainHttp, platform, parallel, n, timeout, progress);
    }

    public RegistryOptions withProgress(Progress p) {
        return new RegistryOptions(credentials, authFiles, tlsVerify, plainHttp, platform, parallel, retries, timeout, p);
    }

    /** The credentials for a repository: the explicit ones, else the auth files' (or null). */
    Credentials credentialsFor(String registry, String repository) {
        return credentials != null ? credentials : Credentials.lookup(authFiles, registry, repository);
    }
}
