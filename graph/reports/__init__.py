"""Reports for hosts and admins: `bookingStats` and `databaseHealth`."""
