"""Login sessions: the `Session` type (a signed-in device of a user)."""
