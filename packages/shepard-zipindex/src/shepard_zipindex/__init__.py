"""Read one member of a remote zip (zip and zip64) with two ranged reads."""
