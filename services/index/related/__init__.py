"""Related links ("Baca juga"): pure scoring, the stored lists (computing, forgetting, rebuilding), tasks."""
