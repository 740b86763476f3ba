"""One module per source: extract (through the real interface) -> validate -> publish."""
