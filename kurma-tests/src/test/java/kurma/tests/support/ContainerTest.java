package kurma.tests.support;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

/**
 * Base of every test class: checks the prerequisites (root, runtime present) once, gives each
 * test a fresh {@link TestEnv} and cleans it up afterwards, whatever happened.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class ContainerTest {
    protected TestEnv env;
    private static ParentCgroups parents;

    @BeforeAll
    static void prerequisites() throws Exception {
        TestConfig.checkPrerequisites();
        parents = ParentCgroups.snapshot();
    }

    @AfterAll
    static void removeParentCgroups() {
        if (parents != null) parents.removeMade();
    }

    @BeforeEach
    void createEnv(TestInfo info) throws Exception {
        String name = info.getTestClass().map(Class::getSimpleName).orElse("t") + "-"
                + info.getTestMethod().map(m -> m.getName()).orElse(info.getDisplayName());
        env = new TestEnv(name);
    }

    @AfterEach
    void closeEnv() throws Exception {
        if (env != null) env.close();
    }

    /** Skips the calling test unless the runtime under test is kurma (kurma-specific behaviour). */
    protected static void assumeKurma() {
        Assumptions.assumeTrue(TestConfig.runKurmaOnly(),
                "kurma-only test; the runtime under test is " + TestConfig.runtime());
    }

    protected static boolean isKurma() {
        return TestConfig.isKurma();
    }
}
