"""Platform: the audit chain, background tasks, the outbox and the working-day calendar."""
