"""Live updates (GET /events): a worker's streams, what wakes and ends them, and what they
send."""
