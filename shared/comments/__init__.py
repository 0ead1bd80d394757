"""Reader comments: tables, migrations and (next) moderation rules."""
