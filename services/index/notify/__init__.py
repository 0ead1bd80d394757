"""Telling the outside world what readers can now see: webhooks, WebSub and IndexNow."""
