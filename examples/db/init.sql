-- Runs once, when the db container starts with an empty data directory.
-- Keep this file mode 0644: the entrypoint runs it as the image's user (mysql), not as its owner.
CREATE DATABASE IF NOT EXISTS app;
