"""Database: models, engine and sessions, the tenant scope, migrations."""
