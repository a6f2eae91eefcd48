"""``syncd run``: the daemon (service), its file watching, debouncing, lock, sd_notify, logging."""
