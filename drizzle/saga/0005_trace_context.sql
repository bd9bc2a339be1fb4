-- The W3C traceparent of the trace a saga was begun in (issue #15), for the process that resumes it.
-- Nullable and added last: MariaDB (10.3+) and MySQL (8.0.12+) add it without rebuilding the table.
ALTER TABLE `saga` ADD `trace_context` varchar(64);