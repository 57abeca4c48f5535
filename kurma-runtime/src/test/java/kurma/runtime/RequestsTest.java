package kurma.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The requests a caller builds: what they take, and what they refuse before anything is made. */
class RequestsTest {

    @Test
    void stdioNamesTheCallersFdsInTheContainersOrder() {
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, Stdio.inherited(2).numbers());
        assertArrayEquals(new int[] {9, 7, 7, 12}, new Stdio(9, 7, 7, List.of(12)).numbers());
        assertThrows(IllegalArgumentException.class, () -> new Stdio(-1, 1, 2, List.of()));
        assertThrows(IllegalArgumentException.class, () -> new Stdio(0, 1, 2, List.of(5, -3)));
    }

    @Test
    void socketActivationFdsAreSomeOfTheExtraOnes() {
        CreateRequest r = CreateRequest.of("c", Path.of("/b"));
        assertEquals(2, r.withStdio(Stdio.inherited(3), 2).listenFds());
        assertThrows(IllegalArgumentException.class, () -> r.withStdio(Stdio.inherited(1), 2));
        assertThrows(IllegalArgumentException.class, () -> r.withStdio(Stdio.inherited(1), -1));
    }

    @Test
    void aRuntimeRefusesABadIdWithItsCode() {
        ContainerRuntime rt = ContainerRuntime.open(RuntimeOptions.of(Path.of("/nonexistent-kurma-root")));
        KurmaException e = assertThrows(KurmaException.class, () -> rt.container("../x"));
        assertEquals(KurmaException.Code.INVALID_ARGUMENT, e.code());
        KurmaException missing = assertThrows(KurmaException.class, () -> rt.container("nothing-here").state());
        assertEquals(KurmaException.Code.NOT_FOUND, missing.code());
        assertEquals(List.of(), rt.list());
    }

    @Test
    void optionsDefaultWhatTheCallerLeavesOut() {
        RuntimeOptions o = RuntimeOptions.of(Path.of("relative/root"));
        assertEquals(Path.of("relative/root").toAbsolutePath(), o.root());
        assertEquals(RuntimeOptions.DEFAULT_STAGE2, o.stage2());
        assertEquals(Path.of("/x/stage2"), o.withStage2(Path.of("/x/stage2")).stage2());
    }
}
