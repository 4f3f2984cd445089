"""Side effects that leave the database: in-app notifications, email senders, webhook calls."""
