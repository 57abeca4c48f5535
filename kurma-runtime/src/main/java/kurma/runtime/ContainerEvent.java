package kurma.runtime;

import kurma.cgroups.Stats;

/** What {@link Container#events} reports about a running container (runc's events). */
public sealed interface ContainerEvent permits ContainerEvent.Usage, ContainerEvent.Oom {
    String id();

    /** Its resource usage at one moment. */
    record Usage(String id, Stats stats) implements ContainerEvent {}

    /** The kernel's OOM killer struck in the container's cgroup since the last event. */
    record Oom(String id) implements ContainerEvent {}
}
