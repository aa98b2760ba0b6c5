"""The shepard command line: deploy code, batch jobs, query them and fetch results."""
