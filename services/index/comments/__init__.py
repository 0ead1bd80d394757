"""Reader comments on the worker side: moderate submissions, count reports, keep counts and pages current."""
