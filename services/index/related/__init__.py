"""Related links ("Baca juga"): features and the learned ranker (pure), the stored lists (settling editors'
links, computing, forgetting, rebuilding), tasks."""
