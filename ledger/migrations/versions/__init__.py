"""The numbered revisions, oldest first (a package so that they ship with casework)."""
