"""Package marker; see the modules inside (kernel/cgroup/)."""
