"""Accounts: users, password hashing (argon2id), personal API tokens."""
