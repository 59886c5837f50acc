"""Progress you can trust: queue place, time spent running, stage and its progress."""
