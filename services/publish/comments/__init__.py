"""Reader comments on the publish side: the thread, the form and its guards, the status of a submission."""
