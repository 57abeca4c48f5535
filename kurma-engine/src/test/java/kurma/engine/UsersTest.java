package kurma.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** -u and the image's USER looked up in the image's own /etc/passwd and /etc/group, as Docker does. */
class UsersTest {
    @TempDir
    Path tmp;
    private Path rootfs;

    @BeforeEach
    void image() throws IOException {
        rootfs = Files.createDirectories(tmp.resolve("rootfs"));
        Files.createDirectories(rootfs.resolve("etc"));
        Files.writeString(rootfs.resolve("etc/passwd"), """
                root:x:0:0:root:/root:/bin/sh
                # a comment, a blank line and a short line are skipped

                broken:x:5
                web:x:1000:1000:Web server:/srv/web:/bin/sh
                nohome:x:1001:50:::/bin/false
                """);
        Files.writeString(rootfs.resolve("etc/group"), """
                root:x:0:
                staff:x:50:web,other
                web:x:1000:
                audio:x:63:nohome,web
                """);
    }

    private Users.User resolve(String spec) {
        return Users.resolve(rootfs, spec);
    }

    @Test
    void aNameGivesItsIdsHomeAndSupplementaryGroups() {
        assertEquals(new Users.User(1000, 1000, List.of(50L, 63L), "/srv/web"), resolve("web"));
        assertEquals(new Users.User(1001, 50, List.of(63L), null), resolve("nohome"), "its primary group is not listed again");
    }

    @Test
    void noUserIsRoot() {
        assertEquals(new Users.User(0, 0, List.of(), "/root"), resolve(null));
        assertEquals(new Users.User(0, 0, List.of(), "/root"), resolve(""));
    }

    @Test
    void aUidIsTakenAsIsWithTheEntrysGroupIfThereIsOne() {
        assertEquals(new Users.User(1000, 1000, List.of(50L, 63L), "/srv/web"), resolve("1000"));
        assertEquals(new Users.User(4242, 0, List.of(), null), resolve("4242"), "no entry: gid 0, no home");
    }

    @Test
    void aGroupReplacesThePrimaryOneAndTheSupplementaryOnes() {
        assertEquals(new Users.User(1000, 63, List.of(), "/srv/web"), resolve("web:audio"));
        assertEquals(new Users.User(1000, 7, List.of(), "/srv/web"), resolve("web:7"));
        assertEquals(new Users.User(4242, 50, List.of(), null), resolve("4242:staff"));
    }

    @Test
    void anUnknownNameIsAnErrorNamingIt() {
        EngineException user = assertThrows(EngineException.class, () -> resolve("nobody-here"));
        assertEquals(EngineException.Code.INVALID_ARGUMENT, user.code());
        assertEquals("unable to find user nobody-here: no matching entries in the image's /etc/passwd", user.getMessage());
        EngineException group = assertThrows(EngineException.class, () -> resolve("web:wheel"));
        assertEquals(EngineException.Code.INVALID_ARGUMENT, group.code());
        assertEquals("unable to find group wheel: no matching entries in the image's /etc/group", group.getMessage());
    }

    @Test
    void anImagesPasswdThatIsASymlinkIsNotFollowed() throws IOException {
        // The image's /etc/passwd pointing at a file outside it (the host's, say) must not be read.
        Path outside = Files.writeString(tmp.resolve("host-passwd"), "hostonly:x:4000:4000::/home/hostonly:/bin/sh\n");
        Files.delete(rootfs.resolve("etc/passwd"));
        Files.createSymbolicLink(rootfs.resolve("etc/passwd"), outside);
        assertThrows(EngineException.class, () -> resolve("hostonly"));
        assertEquals(new Users.User(4000, 0, List.of(), null), resolve("4000"), "as if the image had no /etc/passwd");

        Path outsideGroup = Files.writeString(tmp.resolve("host-group"), "hostgroup:x:4001:web\n");
        Files.delete(rootfs.resolve("etc/group"));
        Files.createSymbolicLink(rootfs.resolve("etc/group"), outsideGroup);
        assertThrows(EngineException.class, () -> resolve("0:hostgroup"));
    }

    @Test
    void anImagesEtcThatIsASymlinkIsNotFollowed() throws IOException {
        Path hostEtc = Files.createDirectories(tmp.resolve("host-etc"));
        Files.writeString(hostEtc.resolve("passwd"), "hostonly:x:4000:4000::/home/hostonly:/bin/sh\n");
        Path etc = rootfs.resolve("etc");
        for (String f : List.of("passwd", "group")) Files.delete(etc.resolve(f));
        Files.delete(etc);
        Files.createSymbolicLink(etc, hostEtc);
        assertThrows(EngineException.class, () -> resolve("hostonly"));
    }

    @Test
    void anImageWithoutPasswdTakesNumbersOnly() throws IOException {
        Files.delete(rootfs.resolve("etc/passwd"));
        Files.delete(rootfs.resolve("etc/group"));
        assertEquals(new Users.User(0, 0, List.of(), null), resolve(null));
        assertEquals(new Users.User(12, 34, List.of(), null), resolve("12:34"));
        assertThrows(EngineException.class, () -> resolve("root"));
    }
}
