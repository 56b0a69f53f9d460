"""The deterministic interleaving simulator: processes, the system, scenarios and explorers."""
