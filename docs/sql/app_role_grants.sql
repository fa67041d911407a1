-- Run once in the Liaison database, as a superuser, after creating the two roles:
--   CREATE ROLE liaison_owner LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '...';
--   CREATE ROLE liaison_app   LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '...';
--   CREATE DATABASE liaison OWNER liaison_owner;
-- Every table the owner creates (by running migrations) becomes usable by the application role,
-- which can read and write rows but never change the schema or row-level security.
GRANT USAGE ON SCHEMA public TO liaison_app;
ALTER DEFAULT PRIVILEGES FOR ROLE liaison_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO liaison_app;
ALTER DEFAULT PRIVILEGES FOR ROLE liaison_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO liaison_app;
