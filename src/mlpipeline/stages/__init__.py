"""The DVC stages, one module each: read inputs, call the core, write outputs atomically."""
