"""Providers: where a lab's nodes run. `registry` is the one place that picks one."""
