"""Bookings: the `Booking` type, filters and orders, the `bookings` root, the mutations."""
