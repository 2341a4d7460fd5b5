"""Cluster API federation: the workload clusters a management cluster's `Cluster` objects describe."""
