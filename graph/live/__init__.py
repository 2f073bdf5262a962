"""GraphQL subscriptions: PostgreSQL's notifications, fanned out to websocket subscribers."""
