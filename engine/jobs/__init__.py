"""The durable job queue: a jobs table, claimed by workers, retried with backoff, visible when dead."""
