"""SMGrNN reference implementation."""
