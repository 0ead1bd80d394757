"""Comment moderation on the newsroom side: the /v1 moderation API and the /moderasi page."""
