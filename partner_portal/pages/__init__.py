"""Portal pages, one module per area; each exposes a Litestar Controller."""
