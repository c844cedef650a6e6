"""Feature folding: raw swaps -> windowed bars -> a fixed dict of features per snapshot, without I/O."""
