"""ops/ is mostly shell; ops.lockcheck is importable so its checks are unit-tested."""
