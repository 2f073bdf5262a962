"""Users: the `User` type, its filters, the `users` and `viewer` roots and the account mutations."""
