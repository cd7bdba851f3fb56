"""Provider simulators: real HTTP servers faithful to the provider documents."""
