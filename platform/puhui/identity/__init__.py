"""Sign-in for people: staff and partner members (password + session), SME customers (issue 3)."""
